// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.22;

import {Coordinator, Subscription} from "infernet-sdk/Coordinator.sol";
import {Allowlist} from "infernet-sdk/pattern/Allowlist.sol";
import {Wallet} from "infernet-sdk/payments/Wallet.sol";
import {HFAnswerBook} from "../../src/HFAnswerBook.sol";
import {HFCallbackConsumer} from "../../src/HFCallbackConsumer.sol";
import {HFDelegatedConsumer} from "../../src/HFDelegatedConsumer.sol";
import {HFInference} from "../../src/HFInference.sol";
import {HFSubscriptionConsumer} from "../../src/HFSubscriptionConsumer.sol";
import {HFOutput} from "../../testkit/HFOutput.sol";
import {InfernetTest} from "../../testkit/InfernetTest.sol";
import {LibSign} from "../../testkit/LibSign.sol";
import {MockSubscriptionConsumer} from "../mocks/consumer/MockSubscriptionConsumer.sol";
import {MockDeliveryLog} from "../mocks/consumer/MockDeliveryLog.sol";
import {MockAtomicVerifier} from "../mocks/payments/MockVerifier.sol";

/// @title InfernetTestKitTest
/// @notice Base of the kit's own tests: the HF consumers and a mock consumer on the kit's protocol.
abstract contract InfernetTestKitTest is InfernetTest {
    /// @notice Seconds per interval of the recurring subscriptions here.
    uint32 internal constant PERIOD = 60;

    /// @notice Intervals of the recurring subscriptions here.
    uint32 internal constant THREE_INTERVALS = 3;

    /// @notice Payment per delivery of the paid subscriptions here.
    uint256 internal constant PRICE = 1 ether;

    /// @notice A second node, registered before the consumers so they allow it.
    address internal BACKUP;

    HFCallbackConsumer internal CALLBACK;
    HFSubscriptionConsumer internal RECURRING;
    MockSubscriptionConsumer internal MOCK;
    address internal SIGNER;
    uint256 internal SIGNER_KEY;

    function setUp() public virtual override {
        super.setUp();
        (SIGNER, SIGNER_KEY) = makeAddrAndKey("signer");
        BACKUP = addNode("backup");
        CALLBACK = HFCallbackConsumer(
            deployCode(
                "HFCallbackConsumer.sol:HFCallbackConsumer",
                abi.encode(address(REGISTRY), HF_CONTAINER_ID, SIGNER, registeredNodes())
            )
        );
        RECURRING = HFSubscriptionConsumer(
            deployCode(
                "HFSubscriptionConsumer.sol:HFSubscriptionConsumer",
                abi.encode(address(REGISTRY), HF_CONTAINER_ID, registeredNodes())
            )
        );
        MOCK = MockSubscriptionConsumer(
            deployCode(
                "MockSubscriptionConsumer.sol:MockSubscriptionConsumer",
                abi.encode(address(REGISTRY), SIGNER)
            )
        );
    }

    /// @notice A recurring summarization subscription on RECURRING, starting one PERIOD from now.
    function _recurring() internal returns (uint32) {
        string[] memory inputs = HFOutput.two("first text", "second text");
        return RECURRING.startSubscription(
            HFInference.SUMMARIZATION, "", inputs, THREE_INTERVALS, PERIOD, 1, false
        );
    }
}

/// @title InfernetTestSetUpTest
/// @notice setUp puts the protocol where infernet-anvil has it and registers a funded node.
contract InfernetTestSetUpTest is InfernetTestKitTest {
    /// @notice Registry, Coordinator and node Wallet sit at infernet-anvil's addresses.
    function test_setUp_deploysAtInfernetAnvilAddresses() public view {
        assertEq(address(REGISTRY), 0x663F3ad617193148711d28f5334eE4Ed07016602);
        assertEq(address(COORDINATOR), 0x2E983A1Ba5e8b38AAAeC4B440B9dDcFBf72E15d1);
        assertEq(address(INBOX), 0x8438Ad1C834623CfF278AB6829a248E37C2D7E3f);
        assertEq(address(READER), 0xBC9129Dc0487fc2E169941C75aABC539f208fb01);
        assertEq(address(FEE), 0x6e989C01a3e3A94C973A62280a72EC335598490e);
        assertEq(address(WALLET_FACTORY), 0xF6168876932289D073567f347121A267095f3DD6);
        assertEq(REGISTRY.COORDINATOR(), address(COORDINATOR));
        assertEq(NODE_WALLET, 0x60985ee8192B322c3CAbA97A9A9f7298bdc4335C);
        assertEq(FEE.FEE(), 0);
    }

    /// @notice The node has gas money and a funded Wallet it owns.
    function test_setUp_registersAndFundsTheNode() public view {
        assertEq(NODE, ANVIL_NODE);
        assertEq(NODE.balance, NODE_FUNDS);
        assertEq(NODE_WALLET.balance, NODE_FUNDS);
        assertEq(Wallet(NODE_WALLET).owner(), NODE);
        assertTrue(WALLET_FACTORY.isValidWallet(NODE_WALLET));
    }

    /// @notice addNode registers a second node with its own funded Wallet.
    function test_addNode_registersAFundedNode() public {
        address bob = addNode("bob");
        assertTrue(bob != NODE);
        assertEq(bob.balance, NODE_FUNDS);
        assertEq(Wallet(nodeWallets[bob]).owner(), bob);
        assertTrue(WALLET_FACTORY.isValidWallet(nodeWallets[bob]));
    }

    /// @notice Delivering as a node that was never registered names it.
    function test_deliverAs_revertsUnknownNode() public {
        uint32 id = CALLBACK.requestCompute(HFInference.TEXT_GENERATION, "", "hi", 1);
        address stranger = makeAddr("stranger");
        vm.expectRevert(abi.encodeWithSelector(UnknownNode.selector, stranger));
        this.deliverAsExternally(stranger, id);
    }

    /// @notice `deliverAs` one call deep, so its revert can be expected.
    function deliverAsExternally(address node, uint32 id) external {
        deliverAs(node, id, HFOutput.textGeneration("x"));
    }
}

/// @title InfernetTestDeliverTest
/// @notice deliver, deliverAs and deliverNextInterval act as a node would.
contract InfernetTestDeliverTest is InfernetTestKitTest {
    /// @notice A callback request is answered for interval 1 with the input the consumer served.
    function test_deliver_answersACallbackRequest() public {
        uint32 id = CALLBACK.requestCompute(HFInference.TEXT_GENERATION, "", "Once upon", 1);

        vm.expectCall(
            address(COORDINATOR),
            abi.encodeCall(
                Coordinator.deliverCompute,
                (
                    id,
                    1,
                    HFOutput.deliveredInput(
                        HFOutput.containerInput(HFInference.TEXT_GENERATION, "", "Once upon")
                    ),
                    HFOutput.textGeneration("a time"),
                    "",
                    NODE_WALLET
                )
            )
        );
        uint32 interval = deliver(id, HFOutput.textGeneration("a time"));

        assertEq(interval, 1);
        assertEq(CALLBACK.getAnswer(id, 1).text, "a time");
        assertEq(CALLBACK.getAnswer(id, 1).node, NODE);
    }

    /// @notice A second node answers the same interval of a redundancy-2 request.
    function test_deliverAs_secondNodeForRedundancy() public {
        address bob = BACKUP;
        uint32 id = CALLBACK.requestCompute(HFInference.TEXT_CLASSIFICATION, "", "great", 2);

        deliver(id, HFOutput.textClassification("POSITIVE", 999_800));
        deliverAs(bob, id, HFOutput.textClassification("POSITIVE", 999_700));

        HFAnswerBook.HFAnswer[] memory answers = CALLBACK.getAnswers(id, 1);
        assertEq(answers.length, 2);
        assertEq(answers[1].node, bob);
        assertEq(answers[1].redundancy, 2);
        assertEq(answers[1].scores[0], 999_700);
    }

    /// @notice deliverNextInterval walks a recurring subscription interval by interval.
    function test_deliverNextInterval_deliversEveryInterval() public {
        uint32 id = _recurring();
        assertEq(currentInterval(id), NOT_ACTIVE);

        assertEq(deliverNextInterval(id, HFOutput.summarization("one")), 1);
        assertEq(deliverNextInterval(id, HFOutput.summarization("two")), 2);
        assertEq(deliverNextInterval(id, HFOutput.summarization("three")), 3);

        assertEq(RECURRING.getAnswer(id, 1).text, "one");
        assertEq(RECURRING.getAnswer(id, 3).text, "three");
        assertEq(block.timestamp, COORDINATOR.getSubscription(id).activeAt + 2 * PERIOD);
    }

    /// @notice The node reads each interval's input from the consumer, as on a real chain.
    function test_deliverNextInterval_passesEachIntervalsInput() public {
        uint32 id = _recurring();
        warpToNextInterval(id);
        warpToNextInterval(id);
        vm.expectCall(
            address(COORDINATOR),
            abi.encodeCall(
                Coordinator.deliverCompute,
                (
                    id,
                    2,
                    HFOutput.deliveredInput(
                        HFOutput.containerInput(HFInference.SUMMARIZATION, "", "second text")
                    ),
                    HFOutput.summarization("two"),
                    "",
                    NODE_WALLET
                )
            )
        );
        deliver(id, HFOutput.summarization("two"));
    }

    /// @notice A lazy subscription's output lands in the Inbox and the consumer reads it back.
    function test_deliver_lazySubscriptionGoesThroughTheInbox() public {
        uint32 id = RECURRING.startSubscription(
            HFInference.TEXT_GENERATION, "", HFOutput.one("hi"), 1, 0, 1, true
        );
        deliver(id, HFOutput.textGeneration("hello"));
        assertEq(RECURRING.getAnswer(id, 1).text, "hello");
        assertEq(INBOX.read(keccak256(abi.encode(HF_CONTAINER_ID)), NODE, 0).subscriptionId, id);
    }
}

/// @title InfernetTestIntervalTest
/// @notice currentInterval, warpToInterval, warpToNextInterval and missInterval follow chain time.
contract InfernetTestIntervalTest is InfernetTestKitTest {
    /// @notice Intervals are computed from chain time as the Coordinator does.
    function test_warpToInterval_movesChainTime() public {
        uint32 id = _recurring();
        uint32 activeAt = COORDINATOR.getSubscription(id).activeAt;

        warpToInterval(id, 3);
        assertEq(block.timestamp, activeAt + 2 * PERIOD);
        assertEq(currentInterval(id), 3);
        warpToInterval(id, 1);
        assertEq(currentInterval(id), 1);
        assertEq(warpToNextInterval(id), 2);
        assertEq(currentInterval(id), 2);
    }

    /// @notice Interval 0, and interval 2 of a one-shot subscription, do not exist.
    function test_warpToInterval_revertsNoSuchInterval() public {
        uint32 oneShot = CALLBACK.requestCompute(HFInference.TEXT_GENERATION, "", "hi", 1);
        vm.expectRevert(abi.encodeWithSelector(NoSuchInterval.selector, oneShot, 2));
        this.warpExternally(oneShot, 2);
        uint32 recurring = _recurring();
        vm.expectRevert(abi.encodeWithSelector(NoSuchInterval.selector, recurring, 0));
        this.warpExternally(recurring, 0);
    }

    /// @notice `warpToInterval` one call deep, so its revert can be expected.
    function warpExternally(uint32 id, uint32 interval) external {
        warpToInterval(id, interval);
    }

    /// @notice A missed interval can no longer be delivered; the next one still can.
    function test_missInterval_skipsAnInterval() public {
        uint32 id = _recurring();
        deliverNextInterval(id, HFOutput.summarization("one"));

        uint32 missed = missInterval(id);

        assertEq(missed, 2);
        assertEq(currentInterval(id), 3);
        (bool ok, bytes memory revertData) =
            tryDeliver(NODE, id, missed, HFOutput.summarization("late"));
        assertFalse(ok);
        assertEq(revertData, abi.encodeWithSelector(Coordinator.IntervalMismatch.selector));
        assertFalse(RECURRING.hasAnswer(id, 2));
        deliver(id, HFOutput.summarization("three"));
        assertEq(RECURRING.getAnswer(id, 3).text, "three");
    }

    /// @notice Missing the first interval of a subscription that is not active yet activates it.
    function test_missInterval_beforeActivation() public {
        uint32 id = _recurring();
        assertEq(missInterval(id), 1);
        assertEq(currentInterval(id), 2);
    }
}

/// @title InfernetTestFailureTest
/// @notice simulatePlaceholder, tryDeliver and the failure outputs.
contract InfernetTestFailureTest is InfernetTestKitTest {
    /// @notice The HF consumers let the node's placeholder simulation through and keep no trace.
    function test_simulatePlaceholder_passesOnTheHFConsumers() public {
        uint32 id = CALLBACK.requestCompute(HFInference.TEXT_GENERATION, "", "hi", 1);

        (bool ok, bytes memory revertData) = simulatePlaceholder(id);

        assertTrue(ok);
        assertEq(revertData.length, 0);
        assertEq(CALLBACK.malformedCount(id, 1), 0);
        deliver(id, HFOutput.textGeneration("hello"));
        assertEq(CALLBACK.getAnswer(id, 1).text, "hello");
    }

    /// @notice A consumer that reverts on delivery fails the simulation with its revert data.
    function test_simulatePlaceholder_reportsAStrictConsumer() public {
        uint32 id = MOCK.createMockSubscription(
            HF_CONTAINER_ID, 1, 0, 1, false, address(0), 0, address(0), address(0)
        );
        MOCK.setRejectDeliveries(true);

        (bool ok, bytes memory revertData) = simulatePlaceholder(id);

        assertFalse(ok);
        assertEq(revertData, abi.encodeWithSelector(MockDeliveryLog.DeliveryRejected.selector));
    }

    /// @notice A mined placeholder or node fallback is recorded as malformed, not reverted.
    function test_deliver_malformedOutputsAreRecorded() public {
        address bob = BACKUP;
        uint32 id = CALLBACK.requestCompute(HFInference.TEXT_GENERATION, "", "hi", 2);

        deliver(id, HFOutput.placeholder());
        deliverAs(bob, id, HFOutput.nodeFallback("{'code': '500'}"));

        assertEq(CALLBACK.malformedCount(id, 1), 2);
        assertEq(CALLBACK.getMalformed(id, 1)[1].node, bob);
        assertFalse(CALLBACK.hasAnswer(id, 1));
    }

    /// @notice tryDeliver reports the Coordinator's refusals and keeps accepted deliveries.
    function test_tryDeliver_reportsRefusals() public {
        uint32 id = CALLBACK.requestCompute(HFInference.TEXT_GENERATION, "", "hi", 1);

        (bool ok,) = tryDeliver(NODE, id, 1, HFOutput.textGeneration("first"));
        assertTrue(ok);
        (bool again, bytes memory revertData) =
            tryDeliver(NODE, id, 1, HFOutput.textGeneration("second"));

        assertFalse(again);
        assertEq(revertData, abi.encodeWithSelector(Coordinator.IntervalCompleted.selector));
        assertEq(CALLBACK.getAnswer(id, 1).text, "first");
    }
}

/// @title InfernetTestDelegatedTest
/// @notice deliverDelegated signs with vm.sign the digest the Coordinator checks.
contract InfernetTestDelegatedTest is InfernetTestKitTest {
    /// @notice A signed delegated subscription is created and delivered in one transaction.
    function test_deliverDelegated_createsAndDelivers() public {
        HFDelegatedConsumer consumer = HFDelegatedConsumer(
            deployCode(
                "HFDelegatedConsumer.sol:HFDelegatedConsumer",
                abi.encode(address(REGISTRY), SIGNER, registeredNodes())
            )
        );
        Subscription memory sub = delegatedSubscription(address(consumer), HF_CONTAINER_ID);

        uint32 id = deliverDelegated(SIGNER_KEY, 7, sub, HFOutput.summarization("short"));

        assertEq(id, 1);
        assertEq(COORDINATOR.getSubscription(id).owner, address(consumer));
        assertEq(consumer.getAnswer(id, 1).text, "short");
    }

    /// @notice With redundancy two, a second node's delivery of the same signed subscription
    ///         reuses the id the first one created, and each node is paid from its own Wallet.
    function test_deliverDelegatedAs_secondNodeReusesTheSubscription() public {
        HFDelegatedConsumer consumer = HFDelegatedConsumer(
            deployCode(
                "HFDelegatedConsumer.sol:HFDelegatedConsumer",
                abi.encode(address(REGISTRY), SIGNER, registeredNodes())
            )
        );
        address bob = BACKUP;
        Subscription memory sub = delegatedSubscription(address(consumer), HF_CONTAINER_ID);
        sub.redundancy = 2;

        uint32 first = deliverDelegated(SIGNER_KEY, 3, sub, HFOutput.summarization("one"));
        uint32 second = deliverDelegatedAs(bob, SIGNER_KEY, 3, sub, HFOutput.summarization("two"));

        assertEq(second, first);
        assertEq(COORDINATOR.redundancyCount(keccak256(abi.encode(first, uint32(1)))), 2);
        assertEq(consumer.getAnswerAt(first, 1, 0).text, "one");
        assertEq(consumer.getAnswerAt(first, 1, 1).text, "two");
    }

    /// @notice Delivering a delegated subscription as a node that was never registered names it.
    function test_deliverDelegatedAs_revertsUnknownNode() public {
        Subscription memory sub = delegatedSubscription(address(this), HF_CONTAINER_ID);
        address stranger = makeAddr("stranger");
        vm.expectRevert(abi.encodeWithSelector(UnknownNode.selector, stranger));
        this.deliverDelegatedAsExternally(stranger, sub);
    }

    /// @notice `deliverDelegatedAs` one call deep, so its revert can be expected.
    function deliverDelegatedAsExternally(address node, Subscription memory sub) external {
        deliverDelegatedAs(node, SIGNER_KEY, 1, sub, HFOutput.summarization("x"));
    }

    /// @notice delegatedSubscription is one-shot, active now, one node, eager and unpaid.
    function test_delegatedSubscription_defaults() public view {
        Subscription memory sub = delegatedSubscription(address(CALLBACK), HF_CONTAINER_ID);
        assertEq(sub.owner, address(CALLBACK));
        assertEq(sub.activeAt, block.timestamp);
        assertEq(sub.period, 0);
        assertEq(sub.frequency, 1);
        assertEq(sub.redundancy, 1);
        assertEq(sub.containerId, keccak256(abi.encode(HF_CONTAINER_ID)));
        assertFalse(sub.lazy);
        assertEq(sub.paymentAmount, 0);
        assertEq(sub.verifier, address(0));
    }

    /// @notice signDelegation signs the EIP-712 digest that recovers to the signer.
    function test_signDelegation_recoversToTheSigner() public view {
        Subscription memory sub = delegatedSubscription(address(CALLBACK), HF_CONTAINER_ID);
        (uint8 v, bytes32 r, bytes32 s) = signDelegation(SIGNER_KEY, 1, 2, sub);
        assertEq(ecrecover(LibSign.digest(address(COORDINATOR), 1, 2, sub), v, r, s), SIGNER);
    }
}

/// @title InfernetTestPaymentTest
/// @notice newConsumerWallet and deliverWithProof settle paid and verified subscriptions.
contract InfernetTestPaymentTest is InfernetTestKitTest {
    /// @notice A paid delivery moves the price from the consumer's Wallet to the node's.
    function test_newConsumerWallet_paysTheNode() public {
        address payable wallet = newConsumerWallet(address(MOCK), address(0), PRICE);
        uint32 id = MOCK.createMockSubscription(
            HF_CONTAINER_ID, 1, 0, 1, false, address(0), PRICE, wallet, address(0)
        );

        deliver(id, HFOutput.textGeneration("paid"));

        assertEq(wallet.balance, 0);
        assertEq(NODE_WALLET.balance, NODE_FUNDS + PRICE);
        assertEq(MOCK.getDelivery(id, 1, 1).output, HFOutput.textGeneration("paid"));
    }

    /// @notice With a verifier, the node stakes the price and is paid once the proof checks out.
    function test_deliverWithProof_settlesThroughTheVerifier() public {
        MockAtomicVerifier verifier = MockAtomicVerifier(
            payable(deployCode(
                    "MockVerifier.sol:MockAtomicVerifier", abi.encode(address(COORDINATOR))
                ))
        );
        verifier.setFee(address(0), 0);
        address payable wallet = newConsumerWallet(address(MOCK), address(0), PRICE);
        uint32 id = MOCK.createMockSubscription(
            HF_CONTAINER_ID, 1, 0, 1, false, address(0), PRICE, wallet, address(verifier)
        );

        deliverWithProof(NODE, id, HFOutput.textGeneration("proven"), "valid");

        assertEq(wallet.balance, 0);
        assertEq(NODE_WALLET.balance, NODE_FUNDS + PRICE);
        assertEq(MOCK.getDelivery(id, 1, 1).proof, bytes("valid"));
    }
}

/// @title InfernetTestFeeTest
/// @notice Overriding `_protocolFee` deploys the Fee contract with that fee, and paid deliveries
///         are charged it.
contract InfernetTestFeeTest is InfernetTestKitTest {
    /// @notice 5% in basis points.
    uint16 internal constant FIVE_PERCENT = 500;

    function _protocolFee() internal pure override returns (uint16) {
        return FIVE_PERCENT;
    }

    /// @notice The protocol takes its fee once per side (2 x 5%) and the node gets the rest.
    function test_protocolFee_isCharged() public {
        assertEq(FEE.FEE(), FIVE_PERCENT);
        address payable wallet = newConsumerWallet(address(MOCK), address(0), PRICE);
        uint32 id = MOCK.createMockSubscription(
            HF_CONTAINER_ID, 1, 0, 1, false, address(0), PRICE, wallet, address(0)
        );
        uint256 recipientBefore = FEE.FEE_RECIPIENT().balance;

        deliver(id, HFOutput.textGeneration("paid"));

        assertEq(FEE.FEE_RECIPIENT().balance - recipientBefore, PRICE / 10);
        assertEq(NODE_WALLET.balance, NODE_FUNDS + PRICE - PRICE / 10);
    }
}

/// @title InfernetTestAllowlistTest
/// @notice registeredNodes is the allowlist of consumers that take deliveries from chosen nodes;
///         a node added after them is a stranger they refuse.
contract InfernetTestAllowlistTest is InfernetTestKitTest {
    /// @notice The nodes registered so far, NODE first, and a one-node list.
    function test_registeredNodes_listsNodesInOrder() public {
        address late = addNode("late");

        address[] memory nodes = registeredNodes();
        assertEq(nodes.length, 3);
        assertEq(nodes[0], NODE);
        assertEq(nodes[1], BACKUP);
        assertEq(nodes[2], late);
        assertEq(nodeList(late).length, 1);
        assertEq(nodeList(late)[0], late);
    }

    /// @notice A stranger's placeholder and well-formed answer are refused with NodeNotAllowed
    ///         and take no slot; the allowed node's answer is stored.
    function test_allowlist_strangerRefusedAllowedNodeStored() public {
        address stranger = addNode("stranger");
        uint32 id = CALLBACK.requestCompute(HFInference.TEXT_GENERATION, "", "Once upon", 1);

        (bool placeholderOk, bytes memory placeholderRevert) =
            tryDeliver(stranger, id, 1, HFOutput.placeholder());
        (bool answerOk, bytes memory answerRevert) =
            tryDeliver(stranger, id, 1, HFOutput.textGeneration("a wrong answer"));
        deliver(id, HFOutput.textGeneration("a time"));

        bytes memory refused = abi.encodeWithSelector(Allowlist.NodeNotAllowed.selector);
        assertFalse(placeholderOk);
        assertEq(placeholderRevert, refused);
        assertFalse(answerOk);
        assertEq(answerRevert, refused);
        assertEq(CALLBACK.getAnswer(id, 1).text, "a time");
        assertEq(CALLBACK.malformedCount(id, 1), 0);
    }

    /// @notice A subscription's intervals refuse strangers too.
    function test_allowlist_subscriptionRefusesStrangers() public {
        address stranger = addNode("stranger");
        uint32 id = _recurring();
        uint32 interval = warpToNextInterval(id);

        (bool ok, bytes memory revertData) =
            tryDeliver(stranger, id, interval, HFOutput.summarization("forged"));
        deliverAs(BACKUP, id, HFOutput.summarization("real"));

        assertFalse(ok);
        assertEq(revertData, abi.encodeWithSelector(Allowlist.NodeNotAllowed.selector));
        assertEq(RECURRING.getAnswer(id, interval).text, "real");
    }
}
