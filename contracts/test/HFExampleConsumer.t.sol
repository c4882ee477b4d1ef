// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.22;

import {Allowlist} from "infernet-sdk/pattern/Allowlist.sol";
import {HFExampleConsumer} from "../src/HFExampleConsumer.sol";
import {HFConsumerTest} from "./lib/HFConsumerTest.sol";

/// @title HFExampleConsumerTest
/// @notice The docs-style consumer requests text generation and stores the completion.
contract HFExampleConsumerTest is HFConsumerTest {
    HFExampleConsumer internal CONSUMER;

    function setUp() public override {
        super.setUp();
        CONSUMER = HFExampleConsumer(
            deployCode(
                "HFExampleConsumer.sol:HFExampleConsumer", abi.encode(REGISTRY, _allowedNodes())
            )
        );
    }

    /// @notice generate() sends (1, "", prompt) to the service and stores the answer.
    function test_generate_storesCompletion() public {
        uint32 id = CONSUMER.generate("Hello");
        assertEq(COORDINATOR.getSubscription(id).containerId, keccak256(abi.encode(CONTAINER_ID)));
        assertEq(
            CONSUMER.getContainerInputs(id, 1, 0, ALICE), abi.encode(TEXT_GENERATION, "", "Hello")
        );

        vm.expectEmit(address(CONSUMER));
        emit HFExampleConsumer.CompletionReceived(id, ALICE, "Hello, world");
        _deliverOutput(ALICE, id, 1, _textOutput("Hello, world"));
        assertEq(CONSUMER.completions(id), "Hello, world");
    }

    /// @notice A delivery that is not a completion (the node's simulation placeholder) is counted
    ///         and announced, and the transaction succeeds.
    function test_receiveCompute_countsMalformedDeliveries() public {
        uint32 id = CONSUMER.generate("Hello");

        vm.expectEmit(address(CONSUMER));
        emit HFExampleConsumer.MalformedCompletion(id, 1, ALICE);
        _deliverOutput(ALICE, id, 1, new bytes(32));

        assertEq(CONSUMER.malformedDeliveries(id), 1);
        assertEq(CONSUMER.completions(id), "");
    }

    /// @notice A stranger's delivery reverts, so the request's only slot stays for an allowed node.
    function test_receiveCompute_refusesStrangers() public {
        uint32 id = CONSUMER.generate("Hello");

        vm.expectRevert(Allowlist.NodeNotAllowed.selector);
        _deliverOutput(STRANGER, id, 1, new bytes(32));
        _deliverOutput(BOB, id, 1, _textOutput("Hello, world"));

        assertEq(CONSUMER.completions(id), "Hello, world");
        assertEq(CONSUMER.malformedDeliveries(id), 0);
    }
}
