// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.22;

import {Ownable} from "solady/auth/Ownable.sol";
import {Coordinator, Subscription} from "infernet-sdk/Coordinator.sol";
import {HFAnswerBook} from "../src/HFAnswerBook.sol";
import {HFInference} from "../src/HFInference.sol";
import {HFSubscriptionConsumer} from "../src/HFSubscriptionConsumer.sol";
import {HFConsumerTest} from "./lib/HFConsumerTest.sol";

/// @title HFSubscriptionConsumerTest
/// @notice Recurring, lazy and cancelled subscriptions owned by HFSubscriptionConsumer.
contract HFSubscriptionConsumerTest is HFConsumerTest {
    HFSubscriptionConsumer internal CONSUMER;

    /// @notice Seconds per interval.
    uint32 internal constant PERIOD = 1 minutes;

    function setUp() public override {
        super.setUp();
        CONSUMER = HFSubscriptionConsumer(
            deployCode(
                "HFSubscriptionConsumer.sol:HFSubscriptionConsumer",
                abi.encode(address(REGISTRY), CONTAINER_ID, _allowedNodes())
            )
        );
    }

    function _inputs() internal pure returns (string[] memory inputs) {
        inputs = new string[](2);
        inputs[0] = "first text";
        inputs[1] = "second text";
    }

    function _start(uint32 frequency, uint32 period, bool lazy) internal returns (uint32) {
        return CONSUMER.startSubscription(
            SUMMARIZATION, "sum-model", _inputs(), frequency, period, ONE_NODE, lazy
        );
    }

    /// @notice Starting creates a consumer-owned subscription that becomes active one period later.
    function test_startSubscription_createsRecurringSubscription() public {
        vm.expectEmit(address(CONSUMER));
        emit HFSubscriptionConsumer.SubscriptionStarted(
            1, SUMMARIZATION, "sum-model", 3, PERIOD, ONE_NODE, EAGER
        );
        uint32 id = _start(3, PERIOD, EAGER);

        Subscription memory sub = COORDINATOR.getSubscription(id);
        assertEq(sub.owner, address(CONSUMER));
        assertEq(sub.activeAt, uint32(block.timestamp) + PERIOD);
        assertEq(sub.frequency, 3);
        assertEq(sub.containerId, keccak256(abi.encode(CONTAINER_ID)));
        assertEq(CONSUMER.getSchedule(id).inputs.length, 2);
    }

    /// @notice Inputs cycle per interval: 1 -> first, 2 -> second, 3 -> first.
    function test_getContainerInputs_cyclesInputsPerInterval() public {
        uint32 id = _start(3, PERIOD, EAGER);
        assertEq(
            CONSUMER.getContainerInputs(id, 1, 0, ALICE),
            abi.encode(SUMMARIZATION, "sum-model", "first text")
        );
        assertEq(
            CONSUMER.getContainerInputs(id, 2, 0, ALICE),
            abi.encode(SUMMARIZATION, "sum-model", "second text")
        );
        assertEq(CONSUMER.inputForInterval(id, 3), "first text");
        assertEq(CONSUMER.getContainerInputs(99, 1, 0, ALICE).length, 0);
    }

    /// @notice Every interval's answer is recorded under its own interval.
    function test_receiveCompute_recordsEachInterval() public {
        uint32 id = _start(2, PERIOD, EAGER);
        vm.warp(block.timestamp + PERIOD);
        _deliverOutput(ALICE, id, 1, _textOutput("summary one"));
        vm.warp(block.timestamp + PERIOD);
        _deliverOutput(ALICE, id, 2, _textOutput("summary two"));

        assertEq(CONSUMER.getAnswer(id, 1).text, "summary one");
        assertEq(CONSUMER.getAnswer(id, 2).text, "summary two");
        assertEq(CONSUMER.getAnswer(id, 2).task, SUMMARIZATION);

        vm.warp(block.timestamp + PERIOD);
        vm.expectRevert(Coordinator.SubscriptionCompleted.selector);
        _deliverOutput(ALICE, id, 3, _textOutput("too late"));
    }

    /// @notice A lazy delivery is read back from the Inbox and recorded like an eager one.
    function test_receiveCompute_readsLazyOutputFromInbox() public {
        uint32 id = _start(1, ONE_SHOT_PERIOD, LAZY);
        _deliverOutput(ALICE, id, 1, _textOutput("from the inbox"));

        assertEq(CONSUMER.getAnswer(id, 1).text, "from the inbox");
        assertEq(
            INBOX.read(keccak256(abi.encode(CONTAINER_ID)), ALICE, 0).output,
            _textOutput("from the inbox")
        );
    }

    /// @notice Stopping cancels on the Coordinator; later deliveries revert.
    function test_stopSubscription_cancelsDeliveries() public {
        uint32 id = _start(5, PERIOD, EAGER);
        vm.expectEmit(address(CONSUMER));
        emit HFSubscriptionConsumer.SubscriptionStopped(id);
        CONSUMER.stopSubscription(id);

        assertEq(COORDINATOR.getSubscription(id).activeAt, type(uint32).max);
        vm.warp(block.timestamp + PERIOD);
        vm.expectRevert(Coordinator.SubscriptionNotActive.selector);
        _deliverOutput(ALICE, id, 1, _textOutput("x"));
    }

    /// @notice Only the owner starts and stops subscriptions.
    function test_startAndStop_onlyOwner() public {
        uint32 id = _start(1, ONE_SHOT_PERIOD, EAGER);
        vm.startPrank(ALICE);
        vm.expectRevert(Ownable.Unauthorized.selector);
        CONSUMER.startSubscription(
            SUMMARIZATION, "", _inputs(), 1, ONE_SHOT_PERIOD, ONE_NODE, EAGER
        );
        vm.expectRevert(Ownable.Unauthorized.selector);
        CONSUMER.stopSubscription(id);
        vm.stopPrank();
    }

    /// @notice Unsupported tasks, missing inputs and never-deliverable shapes are rejected.
    function test_startSubscription_rejectsInvalidSchedules() public {
        vm.expectRevert(abi.encodeWithSelector(HFInference.UnsupportedTask.selector, 0));
        CONSUMER.startSubscription(0, "", _inputs(), 1, ONE_SHOT_PERIOD, ONE_NODE, EAGER);
        vm.expectRevert(HFSubscriptionConsumer.NoInputs.selector);
        CONSUMER.startSubscription(
            SUMMARIZATION, "", new string[](0), 1, ONE_SHOT_PERIOD, ONE_NODE, EAGER
        );
        vm.expectRevert(
            abi.encodeWithSelector(HFSubscriptionConsumer.NeverDeliverable.selector, 0, 1)
        );
        CONSUMER.startSubscription(
            SUMMARIZATION, "", _inputs(), 0, ONE_SHOT_PERIOD, ONE_NODE, EAGER
        );
        vm.expectRevert(
            abi.encodeWithSelector(HFSubscriptionConsumer.NeverDeliverable.selector, 1, 0)
        );
        CONSUMER.startSubscription(SUMMARIZATION, "", _inputs(), 1, ONE_SHOT_PERIOD, 0, EAGER);
    }

    /// @notice Token classification answers keep entity groups and scores.
    function test_receiveCompute_recordsEntityGroups() public {
        uint32 id = CONSUMER.startSubscription(
            TOKEN_CLASSIFICATION, "", _inputs(), 1, ONE_SHOT_PERIOD, ONE_NODE, EAGER
        );
        string[] memory groups = new string[](1);
        groups[0] = "PER";
        uint256[] memory scores = new uint256[](1);
        scores[0] = 987_654;
        _deliverOutput(ALICE, id, 1, _labelsOutput(groups, scores));

        HFAnswerBook.HFAnswer memory answer = CONSUMER.getAnswer(id, 1);
        assertEq(answer.labels[0], "PER");
        assertEq(answer.scores[0], 987_654);
    }
}
