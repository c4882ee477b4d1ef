// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

/// @title HFInference
/// @notice Wire format of the HF Inference Client Service on-chain: task ids, the container input,
///         and the two-step decoding of the delivered output.
/// @dev Input: `abi.encode(uint8 task, string model, string input)` (model "" = the backend's
///      default model). Output, as the node delivers it: `abi.encode(bytes rawOutput, bytes
///      processedOutput)`, where rawOutput is `abi.encode(string)` for text generation and
///      summarization and `abi.encode(string[] labels, uint256[] scoresTimes1e6)` for text and
///      token classification. Task ids match infernet-ml's HFTaskId.
///      Consumers should decode deliveries with `tryDecodeOutput` and record a failure instead of
///      reverting: Ritual's node simulates every delivery first with a placeholder output (32 zero
///      bytes), and a reverting consumer turns each simulation into logged errors and retries.
library HFInference {
    /*//////////////////////////////////////////////////////////////
                               CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice HFTaskId.UNSET: rejected by the service.
    uint8 internal constant TASK_UNSET = 0;

    /// @notice HFTaskId.TEXT_GENERATION: output `(string)`.
    uint8 internal constant TEXT_GENERATION = 1;

    /// @notice HFTaskId.TEXT_CLASSIFICATION: output `(string[] labels, uint256[] scores)`.
    uint8 internal constant TEXT_CLASSIFICATION = 2;

    /// @notice HFTaskId.TOKEN_CLASSIFICATION: output `(string[] entityGroups, uint256[] scores)`.
    uint8 internal constant TOKEN_CLASSIFICATION = 3;

    /// @notice HFTaskId.SUMMARIZATION: output `(string)`.
    uint8 internal constant SUMMARIZATION = 4;

    /// @notice Scores are probabilities times 1e6, truncated (the service's FLOAT_DECIMALS).
    uint256 internal constant SCORE_SCALE = 1e6;

    /// @notice Container id the local stack and Ritual's examples use for this service.
    string internal constant DEFAULT_CONTAINER_ID = "hf_inference_client_service";

    /// @notice First head word of `abi.encode(string)`: the offset of its only (dynamic) member.
    uint256 internal constant TEXT_OUTPUT_HEAD = 0x20;

    /// @notice First head word of `abi.encode(string[], uint256[])`: two head words precede the data.
    uint256 internal constant LABELS_OUTPUT_HEAD = 0x40;

    /// @notice Size of one ABI word in bytes.
    uint256 private constant WORD_SIZE = 32;

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice Thrown by `encodeInput()` for task ids outside 1..4.
    error UnsupportedTask(uint8 task);

    /*//////////////////////////////////////////////////////////////
                           INTERNAL FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Whether `task` is one the service runs (1..4).
    function isSupportedTask(uint8 task) internal pure returns (bool) {
        return task >= TEXT_GENERATION && task <= SUMMARIZATION;
    }

    /// @notice Whether `task`'s raw output is `(string)` (text generation, summarization).
    function producesText(uint8 task) internal pure returns (bool) {
        return task == TEXT_GENERATION || task == SUMMARIZATION;
    }

    /// @notice Container input for `task` on `model` ("" = default model) with `input` text.
    function encodeInput(uint8 task, string memory model, string memory input)
        internal
        pure
        returns (bytes memory)
    {
        // Revert if the service would reject the task
        if (!isSupportedTask(task)) {
            revert UnsupportedTask(task);
        }
        return abi.encode(task, model, input);
    }

    /// @notice Inverse of `encodeInput` (does not validate the task).
    function decodeInput(bytes memory encoded)
        internal
        pure
        returns (uint8 task, string memory model, string memory input)
    {
        return abi.decode(encoded, (uint8, string, string));
    }

    /// @notice The raw output inside a delivered `abi.encode(bytes raw, bytes processed)`.
    function rawOutput(bytes memory output) internal pure returns (bytes memory raw) {
        (raw,) = abi.decode(output, (bytes, bytes));
    }

    /// @notice First ABI head word of `raw` (TEXT_OUTPUT_HEAD or LABELS_OUTPUT_HEAD when
    ///         well-formed), or 0 if `raw` is shorter than a word.
    function headWord(bytes memory raw) internal pure returns (uint256) {
        if (raw.length < WORD_SIZE) {
            return 0;
        }
        return abi.decode(raw, (uint256));
    }

    /// @notice Decodes a delivered output for `task` (task 0: by shape) without reverting.
    /// @dev The checks mirror the ones `abi.decode` makes (every offset and length inside the
    ///      data), so `ok` is true exactly when the decoders below would succeed; the shape check
    ///      (first head word) and the label/score length check are the service's own rules.
    /// @param task task the request asked for (0 = unknown: text if the head word says so)
    /// @param output delivered `abi.encode(bytes rawOutput, bytes processedOutput)`
    /// @return ok whether `output` is a well-formed answer for the task
    /// @return text text for tasks 1 and 4 (else "")
    /// @return labels labels for tasks 2 and 3 (else empty)
    /// @return scores scores times SCORE_SCALE for tasks 2 and 3 (else empty)
    function tryDecodeOutput(uint8 task, bytes memory output)
        internal
        pure
        returns (bool ok, string memory text, string[] memory labels, uint256[] memory scores)
    {
        // abi.encode(bytes, bytes): two head words, each pointing at a length-prefixed tail
        if (!_hasBytesAt(output, 0, 0) || !_hasBytesAt(output, 0, 1)) {
            return (false, text, labels, scores);
        }
        bytes memory raw = rawOutput(output);
        uint256 head = headWord(raw);
        bool isText = task == TASK_UNSET ? head == TEXT_OUTPUT_HEAD : producesText(task);
        if (isText) {
            if (head != TEXT_OUTPUT_HEAD || !_hasBytesAt(raw, 0, 0)) {
                return (false, text, labels, scores);
            }
            return (true, decodeText(raw), labels, scores);
        }
        if (head != LABELS_OUTPUT_HEAD || !_hasStringArrayAt(raw, 0) || !_hasWordArrayAt(raw, 1)) {
            return (false, text, labels, scores);
        }
        (labels, scores) = decodeLabels(raw);
        // A label without a score (or the reverse) is no answer the service gives
        if (labels.length != scores.length) {
            return (false, text, new string[](0), new uint256[](0));
        }
        ok = true;
    }

    /// @notice Text of a text-generation or summarization raw output.
    function decodeText(bytes memory raw) internal pure returns (string memory) {
        return abi.decode(raw, (string));
    }

    /// @notice Labels and scores (times SCORE_SCALE) of a classification raw output.
    function decodeLabels(bytes memory raw)
        internal
        pure
        returns (string[] memory labels, uint256[] memory scores)
    {
        return abi.decode(raw, (string[], uint256[]));
    }

    /*//////////////////////////////////////////////////////////////
                           PRIVATE FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice The ABI word at byte `at` of `data`; the caller checked `at + 32 <= data.length`.
    function _wordAt(bytes memory data, uint256 at) private pure returns (uint256 word) {
        // An unaligned read inside a memory bytes array: abi.decode cannot start mid-array
        assembly ("memory-safe") {
            word := mload(add(add(data, 0x20), at))
        }
    }

    /// @notice Where the tail of head slot `slot` of the tuple at `base` starts (its length word),
    ///         or false if the head word or the length word lies outside `data`.
    function _tailAt(bytes memory data, uint256 base, uint256 slot)
        private
        pure
        returns (bool ok, uint256 tail)
    {
        uint256 size = data.length;
        uint256 headAt = base + slot * WORD_SIZE;
        if (headAt > size || size - headAt < WORD_SIZE) {
            return (false, 0);
        }
        uint256 offset = _wordAt(data, headAt);
        if (offset > size - base || size - base - offset < WORD_SIZE) {
            return (false, 0);
        }
        return (true, base + offset);
    }

    /// @notice Whether head slot `slot` of the tuple at `base` points at a `bytes`/`string` that
    ///         lies inside `data`.
    function _hasBytesAt(bytes memory data, uint256 base, uint256 slot)
        private
        pure
        returns (bool)
    {
        (bool ok, uint256 tail) = _tailAt(data, base, slot);
        return ok && _wordAt(data, tail) <= data.length - tail - WORD_SIZE;
    }

    /// @notice Whether head slot `slot` of the top-level tuple points at a `uint256[]` inside `data`.
    function _hasWordArrayAt(bytes memory data, uint256 slot) private pure returns (bool) {
        (bool ok, uint256 tail) = _tailAt(data, 0, slot);
        return ok && _wordAt(data, tail) <= (data.length - tail - WORD_SIZE) / WORD_SIZE;
    }

    /// @notice Whether head slot `slot` of the top-level tuple points at a `string[]` whose heads
    ///         and strings all lie inside `data` (element offsets count from after the length).
    function _hasStringArrayAt(bytes memory data, uint256 slot) private pure returns (bool) {
        (bool ok, uint256 tail) = _tailAt(data, 0, slot);
        if (!ok) {
            return false;
        }
        uint256 count = _wordAt(data, tail);
        uint256 elements = tail + WORD_SIZE;
        if (count > (data.length - elements) / WORD_SIZE) {
            return false;
        }
        for (uint256 i = 0; i < count; i++) {
            if (!_hasBytesAt(data, elements, i)) {
                return false;
            }
        }
        return true;
    }
}
