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
}
