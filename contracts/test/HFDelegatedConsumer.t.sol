// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.22;

import {Ownable} from "solady/auth/Ownable.sol";
import {Allowlist} from "infernet-sdk/pattern/Allowlist.sol";
import {Subscription} from "infernet-sdk/Coordinator.sol";
import {EIP712Coordinator} from "infernet-sdk/EIP712Coordinator.sol";
import {HFAnswerBook} from "../src/HFAnswerBook.sol";
import {HFDelegatedConsumer} from "../src/HFDelegatedConsumer.sol";
import {HFInference} from "../src/HFInference.sol";
import {HFConsumerTest} from "./lib/HFConsumerTest.sol";
import {LibSign} from "../testkit/LibSign.sol";

/// @title HFDelegatedConsumerTest
/// @notice Subscriptions signed off-chain for HFDelegatedConsumer and delivered atomically.
contract HFDelegatedConsumerTest is HFConsumerTest {
    /// @notice The delegated signer's key (anvil #3's in the local stack; any key here).
    uint256 internal constant SIGNER_KEY = 0x5151;

    /// @notice Signature lifetime.
    uint32 internal constant SIGNATURE_LIFETIME = 10 minutes;

    HFDelegatedConsumer internal CONSUMER;

    function setUp() public override {
        super.setUp();
        CONSUMER = HFDelegatedConsumer(
            deployCode(
                "HFDelegatedConsumer.sol:HFDelegatedConsumer",
                abi.encode(address(REGISTRY), vm.addr(SIGNER_KEY), _allowedNodes())
            )
        );
    }

    function _sub(bool lazy) internal view returns (Subscription memory) {
        return Subscription({
            owner: address(CONSUMER),
            activeAt: uint32(block.timestamp),
            period: ONE_SHOT_PERIOD,
            frequency: ONE_TIME,
            redundancy: ONE_NODE,
            containerId: keccak256(abi.encode(CONTAINER_ID)),
            lazy: lazy,
            verifier: payable(NO_VERIFIER),
            paymentAmount: NO_PAYMENT,
            paymentToken: NO_PAYMENT_TOKEN,
            wallet: payable(NO_WALLET)
        });
    }

    /// @notice Signs (nonce, sub) with `key` and delivers `output` atomically as ALICE.
    function _deliverDelegated(
        uint256 key,
        uint32 nonce,
        Subscription memory sub,
        bytes memory output
    ) internal {
        uint32 expiry = uint32(block.timestamp) + SIGNATURE_LIFETIME;
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(key, LibSign.digest(address(COORDINATOR), nonce, expiry, sub));
        vm.prank(ALICE);
        COORDINATOR.deliverComputeDelegatee(
            nonce, expiry, sub, v, r, s, 1, "", output, "", payable(NO_WALLET)
        );
    }

    /// @notice A delegated classification is recorded with task 0 and decoded by its shape.
    function test_deliverComputeDelegatee_recordsLabels() public {
        (string[] memory labels, uint256[] memory scores) = _sentiment();
        vm.expectEmit(address(CONSUMER));
        emit HFAnswerBook.AnswerReceived(1, 1, ALICE, HFInference.TASK_UNSET, "", labels, scores);
        _deliverDelegated(SIGNER_KEY, 1, _sub(EAGER), _sentimentOutput());

        HFAnswerBook.HFAnswer memory answer = CONSUMER.getAnswer(1, 1);
        assertEq(answer.task, HFInference.TASK_UNSET);
        assertEq(answer.labels, labels);
        assertEq(answer.scores, scores);
        assertEq(
            COORDINATOR.delegateCreatedIds(keccak256(abi.encode(address(CONSUMER), uint32(1)))), 1
        );
    }

    /// @notice Delegated text outputs, eager or lazy, are recorded as text.
    function test_deliverComputeDelegatee_recordsTextEagerAndLazy() public {
        _deliverDelegated(SIGNER_KEY, 1, _sub(EAGER), _textOutput("eager"));
        _deliverDelegated(SIGNER_KEY, 2, _sub(LAZY), _textOutput("lazy"));
        assertEq(CONSUMER.getAnswer(1, 1).text, "eager");
        assertEq(CONSUMER.getAnswer(2, 1).text, "lazy");
    }

    /// @notice A signature from anyone but the consumer's signer is refused.
    function test_deliverComputeDelegatee_revertsForeignSigner() public {
        Subscription memory sub = _sub(EAGER);
        uint32 expiry = uint32(block.timestamp) + SIGNATURE_LIFETIME;
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(0xBAD, LibSign.digest(address(COORDINATOR), 1, expiry, sub));
        vm.expectRevert(EIP712Coordinator.SignerMismatch.selector);
        vm.prank(ALICE);
        COORDINATOR.deliverComputeDelegatee(
            1, expiry, sub, v, r, s, 1, "", _textOutput("x"), "", payable(NO_WALLET)
        );
    }

    /// @notice The owner rotates the signer; only the new one can create.
    function test_updateSigner_rotatesDelegatedSigner() public {
        uint256 newKey = 0x6262;
        vm.expectRevert(Ownable.Unauthorized.selector);
        vm.prank(ALICE);
        CONSUMER.updateSigner(vm.addr(newKey));

        CONSUMER.updateSigner(vm.addr(newKey));
        assertEq(CONSUMER.getSigner(), vm.addr(newKey));
        _deliverDelegated(newKey, 1, _sub(EAGER), _textOutput("rotated"));
        assertEq(CONSUMER.getAnswer(1, 1).text, "rotated");
    }

    /// @notice A recurring subscription's later intervals read the input its owner set, encoded as
    ///         the service reads on-chain inputs; only the owner sets it, for a task the service has.
    function test_setSubscriptionInput_servesLaterIntervals() public {
        assertEq(CONSUMER.getContainerInputs(1, 2, 0, ALICE), "");

        vm.expectRevert(Ownable.Unauthorized.selector);
        vm.prank(ALICE);
        CONSUMER.setSubscriptionInput(1, HFInference.SUMMARIZATION, "", "text");
        vm.expectRevert(
            abi.encodeWithSelector(HFInference.UnsupportedTask.selector, HFInference.TASK_UNSET)
        );
        CONSUMER.setSubscriptionInput(1, HFInference.TASK_UNSET, "", "text");

        vm.expectEmit(address(CONSUMER));
        emit HFDelegatedConsumer.SubscriptionInputSet(1, HFInference.SUMMARIZATION);
        CONSUMER.setSubscriptionInput(1, HFInference.SUMMARIZATION, "", "text");
        assertEq(
            CONSUMER.getContainerInputs(1, 2, 0, ALICE),
            abi.encode(HFInference.SUMMARIZATION, "", "text")
        );
        assertEq(CONSUMER.getContainerInputs(2, 2, 0, ALICE), "");
    }

    /// @notice Whoever holds a signed subscription cannot deliver it with an output of their own:
    ///         only the consumer's nodes can, and the subscription is then still the node's to create.
    function test_deliverComputeDelegatee_refusesStrangers() public {
        Subscription memory sub = _sub(false);
        uint32 expiry = uint32(block.timestamp) + SIGNATURE_LIFETIME;
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(SIGNER_KEY, LibSign.digest(address(COORDINATOR), 1, expiry, sub));

        vm.expectRevert(Allowlist.NodeNotAllowed.selector);
        vm.prank(STRANGER);
        COORDINATOR.deliverComputeDelegatee(
            1, expiry, sub, v, r, s, 1, "", _textOutput("forged"), "", payable(NO_WALLET)
        );

        vm.prank(ALICE);
        COORDINATOR.deliverComputeDelegatee(
            1, expiry, sub, v, r, s, 1, "", _textOutput("real"), "", payable(NO_WALLET)
        );
        assertEq(CONSUMER.getAnswer(1, 1).text, "real");
    }
}
