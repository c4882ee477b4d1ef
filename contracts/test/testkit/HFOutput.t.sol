// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.22;

import {Test} from "forge-std/Test.sol";
import {HFInference} from "../../src/HFInference.sol";
import {HFOutput} from "../../testkit/HFOutput.sol";

/// @title HFOutputTest
/// @notice The kit's output builders produce, byte for byte, what the service encodes: vectors in
///         contracts/test/vectors/service_outputs.json come from the service's own encoder (a
///         Python test regenerates and compares them).
contract HFOutputTest is Test {
    /// @notice The vectors, read once.
    string internal VECTORS;

    function setUp() public {
        VECTORS = vm.readFile("contracts/test/vectors/service_outputs.json");
    }

    /// @notice JSON path of field `field` of vector `index` in list `list`.
    function _path(string memory list, uint256 index, string memory field)
        internal
        pure
        returns (string memory)
    {
        return string.concat(".", list, "[", vm.toString(index), "].", field);
    }

    /// @notice Text generation and summarization builders match every text vector.
    function test_textBuilders_matchTheServiceEncoder() public view {
        uint256 count = vm.parseJsonUint(VECTORS, ".textCount");
        assertGt(count, 0);
        for (uint256 i = 0; i < count; i++) {
            uint256 task = vm.parseJsonUint(VECTORS, _path("text", i, "task"));
            string memory text = vm.parseJsonString(VECTORS, _path("text", i, "text"));
            bytes memory expected = vm.parseJsonBytes(VECTORS, _path("text", i, "delivered"));
            bytes memory built = task == HFInference.TEXT_GENERATION
                ? HFOutput.textGeneration(text)
                : HFOutput.summarization(text);
            assertEq(built, expected, text);
            assertEq(HFOutput.delivered(HFOutput.rawText(text)), expected);
        }
    }

    /// @notice Classification builders match every label vector (scores already times 1e6).
    function test_labelBuilders_matchTheServiceEncoder() public view {
        uint256 count = vm.parseJsonUint(VECTORS, ".labelsCount");
        assertGt(count, 0);
        for (uint256 i = 0; i < count; i++) {
            uint256 task = vm.parseJsonUint(VECTORS, _path("labels", i, "task"));
            bytes memory expected = vm.parseJsonBytes(VECTORS, _path("labels", i, "delivered"));
            string[] memory labels = new string[](0);
            uint256[] memory scores = new uint256[](0);
            if (_hasElements(i)) {
                labels = vm.parseJsonStringArray(VECTORS, _path("labels", i, "labels"));
                scores = vm.parseJsonUintArray(VECTORS, _path("labels", i, "scores"));
            }
            bytes memory built = task == HFInference.TEXT_CLASSIFICATION
                ? HFOutput.textClassification(labels, scores)
                : HFOutput.tokenClassification(labels, scores);
            assertEq(built, expected);
            assertEq(HFOutput.delivered(HFOutput.rawLabels(labels, scores)), expected);
        }
    }

    /// @notice Whether label vector `index` has any labels (forge cannot type an empty JSON list).
    function _hasElements(uint256 index) internal view returns (bool) {
        return vm.keyExistsJson(VECTORS, _path("labels", index, "labels[0]"));
    }

    /// @notice `score` truncates like the service's int(p * 1e6): the vectors' 0.8765432 and
    ///         0.9999996 become 876_543 and 999_999.
    function test_score_truncatesLikeTheService() public pure {
        assertEq(HFOutput.score(8_765_432, 10_000_000), 876_543);
        assertEq(HFOutput.score(9_999_996, 10_000_000), 999_999);
        assertEq(HFOutput.score(9998, 10_000), 999_800);
        assertEq(HFOutput.score(1, 1), HFOutput.SCORE_SCALE);
    }

    /// @notice The single-label and array helpers build the same bytes as the array builders.
    function test_shorthands_matchTheArrayBuilders() public pure {
        assertEq(
            HFOutput.textClassification("POSITIVE", 999_800),
            HFOutput.textClassification(HFOutput.one("POSITIVE"), HFOutput.one(uint256(999_800)))
        );
        string[] memory labels = HFOutput.two("PER", "LOC");
        uint256[] memory scores = HFOutput.two(uint256(1), uint256(2));
        assertEq(labels[1], "LOC");
        assertEq(scores[1], 2);
    }

    /// @notice Inputs are wrapped as the node delivers them and decode with HFInference.
    function test_inputs_roundTrip() public pure {
        bytes memory input = HFOutput.containerInput(HFInference.SUMMARIZATION, "m", "text");
        (uint8 task, string memory model, string memory text) = HFInference.decodeInput(input);
        assertEq(task, HFInference.SUMMARIZATION);
        assertEq(model, "m");
        assertEq(text, "text");
        (bytes memory raw, bytes memory processed) =
            abi.decode(HFOutput.deliveredInput(input), (bytes, bytes));
        assertEq(raw, input);
        assertEq(processed.length, 0);
    }

    /// @notice The failure outputs decode as no task's output.
    function test_failureOutputs_decodeAsNothing() public pure {
        assertEq(HFOutput.placeholder(), new bytes(32));
        for (uint8 task = HFInference.TASK_UNSET; task <= HFInference.SUMMARIZATION; task++) {
            (bool placeholderOk,,,) = HFInference.tryDecodeOutput(task, HFOutput.placeholder());
            (bool fallbackOk,,,) =
                HFInference.tryDecodeOutput(task, HFOutput.nodeFallback("{'code': '500'}"));
            assertFalse(placeholderOk);
            assertFalse(fallbackOk);
        }
    }
}
