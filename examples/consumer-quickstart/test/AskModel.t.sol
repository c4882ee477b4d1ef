// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.22;

import {Allowlist} from "infernet-sdk/pattern/Allowlist.sol";
import {HFOutput} from "infernet-testkit/HFOutput.sol";
import {InfernetTest} from "infernet-testkit/InfernetTest.sol";
import {AskModel} from "../src/AskModel.sol";

/// @title AskModelTest
/// @notice Request, delivery and the node's failure modes for AskModel, with nothing but the kit.
contract AskModelTest is InfernetTest {
    AskModel internal consumer;

    function setUp() public override {
        super.setUp();
        consumer = new AskModel(address(REGISTRY), registeredNodes());
    }

    /// @notice A prompt goes out as the service's input and the node's completion is stored.
    function test_ask_storesTheCompletion() public {
        uint32 id = consumer.ask("Once upon");

        vm.expectEmit(address(consumer));
        emit AskModel.Answered(id, NODE, " a time");
        deliver(id, HFOutput.textGeneration(" a time"));

        assertEq(consumer.answers(id), " a time");
        assertEq(
            consumer.getContainerInputs(id, 1, 0, NODE),
            HFOutput.containerInput(consumer.TEXT_GENERATION(), "", "Once upon")
        );
    }

    /// @notice Ritual's node simulates the delivery with 32 zero bytes first: that must succeed.
    function test_ask_placeholderSimulationSucceeds() public {
        uint32 id = consumer.ask("Once upon");

        (bool ok, bytes memory revertData) = simulatePlaceholder(id);

        assertTrue(ok, string(revertData));
        deliver(id, HFOutput.textGeneration(" a time"));
        assertEq(consumer.answers(id), " a time");
    }

    /// @notice An output that is not a completion is recorded, and the delivery goes through.
    function test_ask_malformedOutputIsRecorded() public {
        uint32 id = consumer.ask("Once upon");

        vm.expectEmit(address(consumer));
        emit AskModel.MalformedDelivery(id, 1, NODE);
        deliver(id, HFOutput.nodeFallback("{'code': '500'}"));

        assertEq(consumer.malformedDeliveries(id), 1);
        assertEq(consumer.answers(id), "");
    }

    /// @notice A node the consumer did not choose cannot answer, not even with a good answer;
    ///         the request's only slot stays free for the chosen node.
    function test_ask_strangerIsRefused() public {
        uint32 id = consumer.ask("Once upon");
        address stranger = addNode("stranger");

        (bool ok, bytes memory revertData) =
            tryDeliver(stranger, id, 1, HFOutput.textGeneration(" a wrong time"));

        assertFalse(ok);
        assertEq(revertData, abi.encodeWithSelector(Allowlist.NodeNotAllowed.selector));
        deliver(id, HFOutput.textGeneration(" a time"));
        assertEq(consumer.answers(id), " a time");
    }
}
