// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.22;

import {ReentrancyGuard} from "solady/utils/ReentrancyGuard.sol";
import {Coordinator, Subscription} from "infernet-sdk/Coordinator.sol";
import {Inbox, InboxItem} from "infernet-sdk/Inbox.sol";
import {BaseConsumer} from "infernet-sdk/consumer/Base.sol";
import {Allowlist} from "infernet-sdk/pattern/Allowlist.sol";
import {ProtocolTest} from "./lib/ProtocolTest.sol";
import {MockDeliveryLog} from "./mocks/consumer/MockDeliveryLog.sol";
import {MockCallbackConsumer} from "./mocks/consumer/MockCallbackConsumer.sol";
import {MockSubscriptionConsumer} from "./mocks/consumer/MockSubscriptionConsumer.sol";

/// @title CoordinatorTest
/// @notice Deploys a callback and a subscription mock consumer on top of the protocol.
abstract contract CoordinatorTest is ProtocolTest {
    MockCallbackConsumer internal CALLBACK;
    MockSubscriptionConsumer internal SUBSCRIPTION;

    /// @notice Seconds per interval of the recurring mock subscriptions.
    uint32 internal constant PERIOD = 1 minutes;

    function setUp() public virtual override {
        super.setUp();
        CALLBACK = MockCallbackConsumer(
            deployCode(
                "MockCallbackConsumer.sol:MockCallbackConsumer",
                abi.encode(address(REGISTRY), new address[](0))
            )
        );
        SUBSCRIPTION = _deployMockSubscriptionConsumer(NO_SIGNER);
    }

    /// @notice One-shot eager request with `redundancy` nodes.
    function _request(uint16 redundancy) internal returns (uint32) {
        return CALLBACK.createMockRequest(
            MOCK_CONTAINER_ID,
            MOCK_INPUT,
            redundancy,
            NO_PAYMENT_TOKEN,
            NO_PAYMENT,
            NO_WALLET,
            NO_VERIFIER
        );
    }

    /// @notice Recurring subscription owned by the subscription mock.
    function _subscribe(uint32 frequency, uint32 period, uint16 redundancy, bool lazy)
        internal
        returns (uint32)
    {
        return SUBSCRIPTION.createMockSubscription(
            MOCK_CONTAINER_ID,
            frequency,
            period,
            redundancy,
            lazy,
            NO_PAYMENT_TOKEN,
            NO_PAYMENT,
            NO_WALLET,
            NO_VERIFIER
        );
    }
}

/// @title CoordinatorGeneralTest
/// @notice Ids, storage of new subscriptions, the interval formula.
contract CoordinatorGeneralTest is CoordinatorTest {
    /// @notice The next id starts at 1 and id 0 is never a subscription.
    function test_id_startsAtOne() public {
        assertEq(COORDINATOR.id(), 1);
        assertEq(COORDINATOR.getSubscription(0).owner, address(0));
        assertEq(_request(ONE_NODE), 1);
        assertEq(COORDINATOR.id(), 2);
    }

    /// @notice Unknown ids read as an all-zero subscription.
    function test_getSubscription_unknownIdIsZero() public view {
        Subscription memory sub = COORDINATOR.getSubscription(42);
        assertEq(sub.owner, address(0));
        assertEq(sub.activeAt, 0);
        assertEq(sub.containerId, bytes32(0));
    }

    /// @notice createSubscription stores the caller, activeAt = now + period and the hashed id.
    function test_createSubscription_storesFieldsAndEmits() public {
        vm.expectEmit(address(COORDINATOR));
        emit Coordinator.SubscriptionCreated(1);
        uint32 id = _subscribe(3, PERIOD, 2, LAZY);

        Subscription memory sub = COORDINATOR.getSubscription(id);
        assertEq(sub.owner, address(SUBSCRIPTION));
        assertEq(sub.activeAt, uint32(block.timestamp) + PERIOD);
        assertEq(sub.period, PERIOD);
        assertEq(sub.frequency, 3);
        assertEq(sub.redundancy, 2);
        assertEq(sub.containerId, HASHED_MOCK_CONTAINER_ID);
        assertTrue(sub.lazy);
        assertEq(sub.wallet, NO_WALLET);
    }

    /// @notice containerId is keccak256(abi.encode(string)), as the spec's "hello-world" example.
    function test_createSubscription_hashesContainerIdAsAbiEncodedString() public {
        uint32 id = CALLBACK.createMockRequest(
            "hello-world",
            MOCK_INPUT,
            ONE_NODE,
            NO_PAYMENT_TOKEN,
            NO_PAYMENT,
            NO_WALLET,
            NO_VERIFIER
        );
        assertEq(
            COORDINATOR.getSubscription(id).containerId,
            0x5768661526084c7b4d30f7224ed6c74ade98db3c6c395c55400a17f34a547e22
        );
    }

    /// @notice A callback request stores its input for nodes to read.
    function test_getContainerInputs_returnsRequestInput() public {
        uint32 id = _request(ONE_NODE);
        assertEq(CALLBACK.getContainerInputs(id, 1, 0, ALICE), MOCK_INPUT);
    }

    /// @notice Interval k covers [activeAt + (k-1) * period, activeAt + k * period).
    function testFuzz_getSubscriptionInterval_followsPeriods(
        uint32 activeAt,
        uint32 period,
        uint32 elapsed
    ) public {
        activeAt = uint32(bound(activeAt, 1, type(uint32).max / 2));
        period = uint32(bound(period, 1, 365 days));
        elapsed = uint32(bound(elapsed, 0, type(uint32).max / 2 - 1));
        vm.warp(uint256(activeAt) + elapsed);
        assertEq(COORDINATOR.getSubscriptionInterval(activeAt, period), elapsed / period + 1);
        assertEq(COORDINATOR.getSubscriptionInterval(activeAt, ONE_SHOT_PERIOD), 1);
    }
}

/// @title CoordinatorCallbackTest
/// @notice One-shot eager requests: delivery, redundancy, duplicates, reverts.
contract CoordinatorCallbackTest is CoordinatorTest {
    /// @notice A delivery reaches the consumer eagerly with redundancy 1 and emits Fulfilled.
    function test_deliverCompute_callsConsumerEagerly() public {
        uint32 id = _request(ONE_NODE);

        vm.expectEmit(address(COORDINATOR));
        emit Coordinator.SubscriptionFulfilled(id, ALICE);
        _deliver(ALICE, id, 1, NO_WALLET);

        MockDeliveryLog.DeliveredOutput memory out = CALLBACK.getDelivery(id, 1, 1);
        assertEq(out.node, ALICE);
        assertEq(out.input, MOCK_INPUT);
        assertEq(out.output, MOCK_OUTPUT);
        assertEq(out.proof, MOCK_PROOF);
        assertEq(out.containerId, bytes32(0));
        assertEq(out.index, 0);
        assertEq(COORDINATOR.redundancyCount(keccak256(abi.encode(id, uint32(1)))), 1);
        assertTrue(COORDINATOR.nodeResponded(keccak256(abi.encode(id, uint32(1), ALICE))));
    }

    /// @notice Unknown subscriptions revert SubscriptionNotFound.
    function test_deliverCompute_revertsSubscriptionNotFound() public {
        vm.expectRevert(Coordinator.SubscriptionNotFound.selector);
        _deliver(ALICE, 7, 1, NO_WALLET);
    }

    /// @notice Each node answers once; the callback sees the running redundancy count.
    function test_deliverCompute_countsRedundantNodes() public {
        uint32 id = _request(2);
        _deliver(ALICE, id, 1, NO_WALLET);
        _deliver(BOB, id, 1, NO_WALLET);
        assertEq(CALLBACK.getDelivery(id, 1, 1).node, ALICE);
        assertEq(CALLBACK.getDelivery(id, 1, 2).node, BOB);

        vm.expectRevert(Coordinator.IntervalCompleted.selector);
        _deliver(CHARLIE, id, 1, NO_WALLET);
    }

    /// @notice The same node cannot deliver twice in one interval.
    function test_deliverCompute_revertsNodeRespondedAlready() public {
        uint32 id = _request(2);
        _deliver(ALICE, id, 1, NO_WALLET);
        vm.expectRevert(Coordinator.NodeRespondedAlready.selector);
        _deliver(ALICE, id, 1, NO_WALLET);
    }

    /// @notice IntervalCompleted is checked before NodeRespondedAlready.
    function test_deliverCompute_checksIntervalCompletedFirst() public {
        uint32 id = _request(ONE_NODE);
        _deliver(ALICE, id, 1, NO_WALLET);
        vm.expectRevert(Coordinator.IntervalCompleted.selector);
        _deliver(ALICE, id, 1, NO_WALLET);
    }

    /// @notice A one-shot request only accepts interval 1, at any later time.
    function test_deliverCompute_oneShotIsAlwaysIntervalOne() public {
        uint32 id = _request(ONE_NODE);
        vm.warp(block.timestamp + 365 days);
        vm.expectRevert(Coordinator.IntervalMismatch.selector);
        _deliver(ALICE, id, 2, NO_WALLET);
        _deliver(ALICE, id, 1, NO_WALLET);
    }

    /// @notice Redundancy 0 is accepted at creation and can never be delivered.
    function test_deliverCompute_zeroRedundancyNeverDelivers() public {
        uint32 id = _request(0);
        vm.expectRevert(Coordinator.IntervalCompleted.selector);
        _deliver(ALICE, id, 1, NO_WALLET);
    }

    /// @notice A reverting consumer reverts the whole delivery, counters included.
    function test_deliverCompute_consumerRevertUndoesDelivery() public {
        uint32 id = _request(ONE_NODE);
        CALLBACK.setRejectDeliveries(true);
        vm.expectRevert(MockDeliveryLog.DeliveryRejected.selector);
        _deliver(ALICE, id, 1, NO_WALLET);
        assertEq(COORDINATOR.redundancyCount(keccak256(abi.encode(id, uint32(1)))), 0);

        CALLBACK.setRejectDeliveries(false);
        _deliver(ALICE, id, 1, NO_WALLET);
    }

    /// @notice The callback runs under the reentrancy lock: it cannot deliver again.
    function test_deliverCompute_revertsReentrantDelivery() public {
        uint32 id = _request(2);
        CALLBACK.setReenterOnDelivery(true);
        vm.expectRevert(ReentrancyGuard.Reentrancy.selector);
        _deliver(ALICE, id, 1, NO_WALLET);
    }

    /// @notice Only the Coordinator may call rawReceiveCompute.
    function test_rawReceiveCompute_revertsNotCoordinator() public {
        vm.expectRevert(BaseConsumer.NotCoordinator.selector);
        CALLBACK.rawReceiveCompute(
            1, 1, 1, ALICE, MOCK_INPUT, MOCK_OUTPUT, MOCK_PROOF, bytes32(0), 0
        );
    }

    /// @notice An allowlisted consumer rejects other nodes until they are added.
    function test_allowlist_rejectsUnlistedNodes() public {
        address[] memory allowed = new address[](1);
        allowed[0] = ALICE;
        MockCallbackConsumer restricted = MockCallbackConsumer(
            deployCode(
                "MockCallbackConsumer.sol:MockCallbackConsumer",
                abi.encode(address(REGISTRY), allowed)
            )
        );
        uint32 id = restricted.createMockRequest(
            MOCK_CONTAINER_ID, MOCK_INPUT, 2, NO_PAYMENT_TOKEN, NO_PAYMENT, NO_WALLET, NO_VERIFIER
        );

        vm.expectRevert(Allowlist.NodeNotAllowed.selector);
        _deliver(BOB, id, 1, NO_WALLET);
        _deliver(ALICE, id, 1, NO_WALLET);

        address[] memory nodes = new address[](1);
        nodes[0] = BOB;
        bool[] memory statuses = new bool[](1);
        statuses[0] = true;
        restricted.updateMockAllowlist(nodes, statuses);
        assertTrue(restricted.isAllowedNode(BOB));
        _deliver(BOB, id, 1, NO_WALLET);
    }
}

/// @title CoordinatorSubscriptionTest
/// @notice Recurring subscriptions: timing errors, completion, cancellation, lazy delivery.
contract CoordinatorSubscriptionTest is CoordinatorTest {
    /// @notice Deliveries before activeAt revert SubscriptionNotActive.
    function test_deliverCompute_revertsSubscriptionNotActive() public {
        uint32 id = _subscribe(3, PERIOD, ONE_NODE, EAGER);
        vm.expectRevert(Coordinator.SubscriptionNotActive.selector);
        _deliver(ALICE, id, 1, NO_WALLET);
    }

    /// @notice Each interval is delivered in its own time window, then the subscription completes.
    function test_deliverCompute_deliversEveryIntervalThenCompletes() public {
        uint32 id = _subscribe(2, PERIOD, ONE_NODE, EAGER);
        vm.warp(block.timestamp + PERIOD);
        _deliver(ALICE, id, 1, NO_WALLET);

        vm.warp(block.timestamp + PERIOD);
        _deliver(ALICE, id, 2, NO_WALLET);
        assertEq(SUBSCRIPTION.getDelivery(id, 2, 1).input, MOCK_INPUT);

        vm.warp(block.timestamp + PERIOD);
        vm.expectRevert(Coordinator.SubscriptionCompleted.selector);
        _deliver(ALICE, id, 3, NO_WALLET);
    }

    /// @notice Late and early deliveries revert IntervalMismatch; missed intervals are lost.
    function test_deliverCompute_revertsIntervalMismatch() public {
        uint32 id = _subscribe(5, PERIOD, ONE_NODE, EAGER);
        vm.warp(block.timestamp + PERIOD);
        vm.expectRevert(Coordinator.IntervalMismatch.selector);
        _deliver(ALICE, id, 2, NO_WALLET);

        vm.warp(block.timestamp + PERIOD);
        vm.expectRevert(Coordinator.IntervalMismatch.selector);
        _deliver(ALICE, id, 1, NO_WALLET);
    }

    /// @notice IntervalMismatch is checked before SubscriptionCompleted.
    function test_deliverCompute_checksIntervalBeforeCompletion() public {
        uint32 id = _subscribe(1, PERIOD, ONE_NODE, EAGER);
        // activeAt = now + PERIOD, so this is interval 3 of 1
        vm.warp(block.timestamp + 3 * PERIOD);
        vm.expectRevert(Coordinator.IntervalMismatch.selector);
        _deliver(ALICE, id, 1, NO_WALLET);
        vm.expectRevert(Coordinator.SubscriptionCompleted.selector);
        _deliver(ALICE, id, 3, NO_WALLET);
    }

    /// @notice Frequency 0 is accepted at creation and can never be delivered.
    function test_deliverCompute_zeroFrequencyNeverDelivers() public {
        uint32 id = _subscribe(0, ONE_SHOT_PERIOD, ONE_NODE, EAGER);
        vm.expectRevert(Coordinator.SubscriptionCompleted.selector);
        _deliver(ALICE, id, 1, NO_WALLET);
    }

    /// @notice Cancelling moves activeAt to the end of time, emits, and blocks deliveries.
    function test_cancelSubscription_blocksDeliveries() public {
        uint32 id = _subscribe(3, ONE_SHOT_PERIOD, ONE_NODE, EAGER);
        vm.expectEmit(address(COORDINATOR));
        emit Coordinator.SubscriptionCancelled(id);
        SUBSCRIPTION.cancelMockSubscription(id);

        assertEq(COORDINATOR.getSubscription(id).activeAt, type(uint32).max);
        assertEq(COORDINATOR.getSubscription(id).owner, address(SUBSCRIPTION));
        vm.expectRevert(Coordinator.SubscriptionNotActive.selector);
        _deliver(ALICE, id, 1, NO_WALLET);

        // Cancelling twice is allowed
        SUBSCRIPTION.cancelMockSubscription(id);
    }

    /// @notice Only the owner can cancel, and unknown ids cannot be cancelled.
    function test_cancelSubscription_revertsNotSubscriptionOwner() public {
        uint32 id = _subscribe(3, PERIOD, ONE_NODE, EAGER);
        vm.expectRevert(Coordinator.NotSubscriptionOwner.selector);
        COORDINATOR.cancelSubscription(id);
        vm.expectRevert(Coordinator.NotSubscriptionOwner.selector);
        COORDINATOR.cancelSubscription(99);
    }

    /// @notice A lazy delivery is written to the Inbox and the callback gets a pointer.
    function test_deliverCompute_lazyWritesInbox() public {
        uint32 id = _subscribe(1, ONE_SHOT_PERIOD, ONE_NODE, LAZY);

        vm.expectEmit(address(INBOX));
        emit Inbox.NewInboxItem(HASHED_MOCK_CONTAINER_ID, ALICE, 0);
        _deliver(ALICE, id, 1, NO_WALLET);

        MockDeliveryLog.DeliveredOutput memory out = SUBSCRIPTION.getDelivery(id, 1, 1);
        assertEq(out.input.length, 0);
        assertEq(out.output.length, 0);
        assertEq(out.proof.length, 0);
        assertEq(out.containerId, HASHED_MOCK_CONTAINER_ID);
        assertEq(out.index, 0);

        InboxItem memory item = SUBSCRIPTION.readMockInbox(out.containerId, ALICE, out.index);
        assertEq(item.timestamp, uint32(block.timestamp));
        assertEq(item.subscriptionId, id);
        assertEq(item.interval, 1);
        assertEq(item.input, MOCK_INPUT);
        assertEq(item.output, MOCK_OUTPUT);
        assertEq(item.proof, MOCK_PROOF);
    }

    /// @notice Lazy items append per (containerId, node): the second node's item is its index 0.
    function test_deliverCompute_lazyIndexesPerNode() public {
        uint32 id = _subscribe(2, PERIOD, 2, LAZY);
        vm.warp(block.timestamp + PERIOD);
        _deliver(ALICE, id, 1, NO_WALLET);
        _deliver(BOB, id, 1, NO_WALLET);
        vm.warp(block.timestamp + PERIOD);
        _deliver(ALICE, id, 2, NO_WALLET);

        assertEq(SUBSCRIPTION.getDelivery(id, 1, 2).index, 0);
        assertEq(SUBSCRIPTION.getDelivery(id, 2, 1).index, 1);
        assertEq(SUBSCRIPTION.readMockInbox(HASHED_MOCK_CONTAINER_ID, ALICE, 1).interval, 2);
    }
}
