// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.22;

import {Test} from "forge-std/Test.sol";
import {HFInference} from "../src/HFInference.sol";

/// @title HFInferenceHarness
/// @notice Exposes the library so reverts happen one call deep.
contract HFInferenceHarness {
    function encodeInput(uint8 task, string calldata model, string calldata input)
        external
        pure
        returns (bytes memory)
    {
        return HFInference.encodeInput(task, model, input);
    }

    /// @notice The reverting decoders, for a delivered output.
    function decodeOutput(uint8 task, bytes calldata output) external pure {
        bytes memory raw = HFInference.rawOutput(output);
        if (HFInference.producesText(task) || HFInference.headWord(raw) == 0x20) {
            HFInference.decodeText(raw);
        } else {
            HFInference.decodeLabels(raw);
        }
    }
}

/// @title HFInferenceTest
/// @notice The service's on-chain wire format.
contract HFInferenceTest is Test {
    /// @notice "hi" right-padded to one ABI word.
    bytes internal constant HI_PADDED =
        hex"6869000000000000000000000000000000000000000000000000000000000000";

    HFInferenceHarness internal HARNESS = new HFInferenceHarness();

    /// @notice (1, "", "hi") is the 192-byte layout the service decodes (docs/contracts.md).
    function test_encodeInput_matchesServiceLayout() public pure {
        bytes memory encoded = HFInference.encodeInput(HFInference.TEXT_GENERATION, "", "hi");
        assertEq(encoded.length, 192);
        assertEq(
            encoded,
            abi.encodePacked(
                uint256(1), uint256(0x60), uint256(0x80), uint256(0), uint256(2), HI_PADDED
            )
        );
    }

    /// @notice Every supported task round-trips through encode and decode.
    function testFuzz_encodeInput_roundTrips(
        uint8 task,
        string calldata model,
        string calldata input
    ) public pure {
        task = uint8(bound(task, HFInference.TEXT_GENERATION, HFInference.SUMMARIZATION));
        (uint8 decodedTask, string memory decodedModel, string memory decodedInput) =
            HFInference.decodeInput(HFInference.encodeInput(task, model, input));
        assertEq(decodedTask, task);
        assertEq(decodedModel, model);
        assertEq(decodedInput, input);
    }

    /// @notice Task 0 (UNSET) and ids above 4 are rejected with the offending id.
    function testFuzz_encodeInput_rejectsUnsupportedTasks(uint8 task) public {
        task = task > HFInference.SUMMARIZATION ? task : HFInference.TASK_UNSET;
        vm.expectRevert(abi.encodeWithSelector(HFInference.UnsupportedTask.selector, task));
        HARNESS.encodeInput(task, "", "x");
    }

    /// @notice Text outputs decode from the two-layer encoding and are recognised by shape.
    function testFuzz_decodeText_roundTrips(string calldata text) public pure {
        bytes memory raw = HFInference.rawOutput(abi.encode(abi.encode(text), bytes("")));
        assertEq(HFInference.headWord(raw), HFInference.TEXT_OUTPUT_HEAD);
        assertEq(HFInference.decodeText(raw), text);
    }

    /// @notice Label outputs decode from the two-layer encoding and are recognised by shape.
    function testFuzz_decodeLabels_roundTrips(string[] calldata labels, uint256[] calldata scores)
        public
        pure
    {
        bytes memory raw = HFInference.rawOutput(abi.encode(abi.encode(labels, scores), bytes("")));
        assertEq(HFInference.headWord(raw), HFInference.LABELS_OUTPUT_HEAD);
        (string[] memory decodedLabels, uint256[] memory decodedScores) =
            HFInference.decodeLabels(raw);
        assertEq(decodedLabels, labels);
        assertEq(decodedScores, scores);
    }

    /// @notice Only tasks 1 and 4 produce text; headWord of a short output is 0.
    function test_producesText_onlyForGenerationAndSummarization() public pure {
        assertTrue(HFInference.producesText(HFInference.TEXT_GENERATION));
        assertTrue(HFInference.producesText(HFInference.SUMMARIZATION));
        assertFalse(HFInference.producesText(HFInference.TEXT_CLASSIFICATION));
        assertFalse(HFInference.producesText(HFInference.TOKEN_CLASSIFICATION));
        assertFalse(HFInference.isSupportedTask(HFInference.TASK_UNSET));
        assertEq(HFInference.headWord(hex"20"), 0);
    }

    /// @notice tryDecodeOutput accepts every well-formed text output, for its task and by shape.
    function testFuzz_tryDecodeOutput_acceptsText(string calldata text, bool summarize)
        public
        pure
    {
        bytes memory output = abi.encode(abi.encode(text), bytes(""));
        uint8 task = summarize ? HFInference.SUMMARIZATION : HFInference.TEXT_GENERATION;
        (bool ok, string memory decoded,,) = HFInference.tryDecodeOutput(task, output);
        assertTrue(ok);
        assertEq(decoded, text);
        (ok, decoded,,) = HFInference.tryDecodeOutput(HFInference.TASK_UNSET, output);
        assertTrue(ok);
        assertEq(decoded, text);
        (ok,,,) = HFInference.tryDecodeOutput(HFInference.TEXT_CLASSIFICATION, output);
        assertFalse(ok);
    }

    /// @notice tryDecodeOutput accepts every well-formed label output with matching lengths.
    function testFuzz_tryDecodeOutput_acceptsLabels(string[] calldata labels, uint256 seed)
        public
        pure
    {
        uint256[] memory scores = new uint256[](labels.length);
        for (uint256 i = 0; i < scores.length; i++) {
            scores[i] = uint256(keccak256(abi.encode(seed, i))) % HFInference.SCORE_SCALE;
        }
        bytes memory output = abi.encode(abi.encode(labels, scores), bytes(""));
        (bool ok,, string[] memory decodedLabels, uint256[] memory decodedScores) =
            HFInference.tryDecodeOutput(HFInference.TOKEN_CLASSIFICATION, output);
        assertTrue(ok);
        assertEq(decodedLabels, labels);
        assertEq(decodedScores, scores);
        (ok,,,) = HFInference.tryDecodeOutput(HFInference.TEXT_GENERATION, output);
        assertFalse(ok);
    }

    /// @notice Labels without scores (or the reverse) are refused.
    function test_tryDecodeOutput_refusesLabelScoreMismatch() public pure {
        bytes memory output = abi.encode(abi.encode(new string[](2), new uint256[](1)), bytes(""));
        (bool ok,, string[] memory labels,) =
            HFInference.tryDecodeOutput(HFInference.TEXT_CLASSIFICATION, output);
        assertFalse(ok);
        assertEq(labels.length, 0);
    }

    /// @notice Arbitrary bytes never make tryDecodeOutput revert, and whenever it says ok the
    ///         reverting decoders agree.
    function testFuzz_tryDecodeOutput_neverReverts(bytes calldata output, uint8 task) public view {
        task = uint8(bound(task, HFInference.TASK_UNSET, HFInference.SUMMARIZATION));
        (bool ok,,,) = HFInference.tryDecodeOutput(task, output);
        if (ok) {
            HARNESS.decodeOutput(task, output);
        }
    }

    /// @notice Truncated and out-of-bounds encodings are refused, not reverted on.
    function test_tryDecodeOutput_refusesTruncatedEncodings() public pure {
        bytes memory good = abi.encode(abi.encode("hello"), bytes(""));
        for (uint256 cut = 0; cut < good.length; cut += 16) {
            bytes memory truncated = new bytes(cut);
            for (uint256 i = 0; i < cut; i++) {
                truncated[i] = good[i];
            }
            (bool ok,,,) = HFInference.tryDecodeOutput(HFInference.TEXT_GENERATION, truncated);
            assertFalse(ok);
        }
        bytes memory farOffset = abi.encode(type(uint256).max, uint256(0x40), uint256(0));
        (bool far,,,) = HFInference.tryDecodeOutput(HFInference.TASK_UNSET, farOffset);
        assertFalse(far);
    }
}
