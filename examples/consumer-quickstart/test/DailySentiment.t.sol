// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.22;

import {Coordinator} from "infernet-sdk/Coordinator.sol";
import {HFOutput} from "infernet-testkit/HFOutput.sol";
import {InfernetTest} from "infernet-testkit/InfernetTest.sol";
import {DailySentiment} from "../src/DailySentiment.sol";

/// @title DailySentimentTest
/// @notice A week of daily deliveries, a missed day and a redundant node, with nothing but the kit.
contract DailySentimentTest is InfernetTest {
    /// @notice Days the subscription runs.
    uint32 internal constant WEEK = 7;

    DailySentiment internal consumer;

    function setUp() public override {
        super.setUp();
        consumer = new DailySentiment(address(REGISTRY), "Markets rally", registeredNodes());
    }

    /// @notice Each day's delivery is kept with its label and score; the input follows the headline.
    function test_follow_recordsEveryDay() public {
        uint32 id = consumer.follow(WEEK);

        uint32 first = deliverNextInterval(id, HFOutput.textClassification("POSITIVE", 987_000));
        consumer.setHeadline("Markets slump");
        uint32 second = deliverNextInterval(
            id,
            HFOutput.textClassification(
                HFOutput.two("NEGATIVE", "POSITIVE"), HFOutput.two(uint256(951_000), 49_000)
            )
        );

        (string memory label, uint256 score, address node) = consumer.moods(id, first);
        assertEq(label, "POSITIVE");
        assertEq(score, 987_000);
        assertEq(node, NODE);
        (label, score,) = consumer.moods(id, second);
        assertEq(label, "NEGATIVE");
        assertEq(score, 951_000);
        assertEq(second, 2);
    }

    /// @notice A day nobody delivered cannot be delivered later; the next day still can.
    function test_follow_missedDayStaysMissed() public {
        uint32 id = consumer.follow(WEEK);

        uint32 missed = missInterval(id);
        (bool ok, bytes memory revertData) =
            tryDeliver(NODE, id, missed, HFOutput.textClassification("POSITIVE", 1));

        assertFalse(ok);
        assertEq(revertData, abi.encodeWithSelector(Coordinator.IntervalMismatch.selector));
        deliver(id, HFOutput.textClassification("POSITIVE", 900_000));
        (string memory label,,) = consumer.moods(id, missed + 1);
        assertEq(label, "POSITIVE");
    }

    /// @notice The placeholder simulation passes on every day, and a garbled answer is recorded.
    function test_follow_toleratesThePlaceholder() public {
        uint32 id = consumer.follow(WEEK);
        warpToNextInterval(id);

        (bool ok,) = simulatePlaceholder(id);
        assertTrue(ok);
        deliver(id, HFOutput.placeholder());

        assertEq(consumer.malformedDeliveries(id, 1), 1);
    }

    /// @notice With one node per day, a second node's delivery is refused as the day is complete.
    function test_follow_secondNodeIsTurnedAway() public {
        uint32 id = consumer.follow(WEEK);
        address backup = addNode("backup");
        deliverNextInterval(id, HFOutput.textClassification("POSITIVE", 800_000));

        (bool ok, bytes memory revertData) =
            tryDeliver(backup, id, 1, HFOutput.textClassification("NEGATIVE", 800_000));

        assertFalse(ok);
        assertEq(revertData, abi.encodeWithSelector(Coordinator.IntervalCompleted.selector));
    }
}
