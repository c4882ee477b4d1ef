// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

/// @title HFOutput
/// @notice Builds what a node hands a consumer for the HF Inference Client Service, byte for byte:
///         the delivered `output` is `abi.encode(bytes rawOutput, bytes processedOutput)` with
///         processedOutput empty, and `input` is `abi.encode(bytes rawInput, bytes
///         processedInput)` with rawInput the container input the consumer served.
/// @dev rawOutput is the service's encoding: `abi.encode(string)` for text generation and
///      summarization, `abi.encode(string[] labels, uint256[] scores)` for text and token
///      classification, each score a probability times SCORE_SCALE, truncated (the service's
///      `int(score * 1e6)`). A test in contracts/test pins every builder against vectors the
///      service's own encoder produced.
library HFOutput {
    /*//////////////////////////////////////////////////////////////
                               CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Scores are probabilities times this (1e6), truncated: the service's scale, and
    ///         HFInference.SCORE_SCALE (the kit imports nothing from contracts/src, so a project
    ///         can install the kit folder alone).
    uint256 internal constant SCORE_SCALE = 1e6;

    /// @notice Size of the placeholder output Ritual's node simulates every delivery with before
    ///         running the container (one zero ABI word).
    uint256 internal constant PLACEHOLDER_SIZE = 32;

    /*//////////////////////////////////////////////////////////////
                           DELIVERED OUTPUTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Delivered output of a text-generation job (task 1).
    /// @param text the generated continuation
    function textGeneration(string memory text) internal pure returns (bytes memory) {
        return delivered(rawText(text));
    }

    /// @notice Delivered output of a summarization job (task 4).
    /// @param summary the summary text
    function summarization(string memory summary) internal pure returns (bytes memory) {
        return delivered(rawText(summary));
    }

    /// @notice Delivered output of a text-classification job (task 2).
    /// @param labels labels in the backend's order (highest score first)
    /// @param scores one score per label, times SCORE_SCALE
    function textClassification(string[] memory labels, uint256[] memory scores)
        internal
        pure
        returns (bytes memory)
    {
        return delivered(rawLabels(labels, scores));
    }

    /// @notice Delivered output of a text-classification job with a single label.
    /// @param label the label
    /// @param labelScore its score times SCORE_SCALE
    function textClassification(string memory label, uint256 labelScore)
        internal
        pure
        returns (bytes memory)
    {
        return delivered(rawLabels(one(label), one(labelScore)));
    }

    /// @notice Delivered output of a token-classification job (task 3).
    /// @param entityGroups entity groups (or entities), one per recognised span, in text order
    /// @param scores one score per entity group, times SCORE_SCALE
    function tokenClassification(string[] memory entityGroups, uint256[] memory scores)
        internal
        pure
        returns (bytes memory)
    {
        return delivered(rawLabels(entityGroups, scores));
    }

    /// @notice Wraps a raw output the way the node delivers it (processedOutput empty).
    /// @param rawOutput the service's `raw_output` bytes
    function delivered(bytes memory rawOutput) internal pure returns (bytes memory) {
        return abi.encode(rawOutput, bytes(""));
    }

    /*//////////////////////////////////////////////////////////////
                              RAW OUTPUTS
    //////////////////////////////////////////////////////////////*/

    /// @notice The service's `raw_output` for tasks 1 and 4: `abi.encode(string)`.
    /// @param text generated text or summary
    function rawText(string memory text) internal pure returns (bytes memory) {
        return abi.encode(text);
    }

    /// @notice The service's `raw_output` for tasks 2 and 3: `abi.encode(string[], uint256[])`.
    /// @param labels labels or entity groups
    /// @param scores scores times SCORE_SCALE
    function rawLabels(string[] memory labels, uint256[] memory scores)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encode(labels, scores);
    }

    /*//////////////////////////////////////////////////////////////
                                 INPUTS
    //////////////////////////////////////////////////////////////*/

    /// @notice The container input a consumer serves: `abi.encode(uint8 task, string model,
    ///         string input)`.
    /// @param task task id (1 text generation, 2 text classification, 3 token classification,
    ///        4 summarization)
    /// @param model model id ("" = the backend's default)
    /// @param text prompt or text
    function containerInput(uint8 task, string memory model, string memory text)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encode(task, model, text);
    }

    /// @notice The `input` argument a node delivers for an on-chain request: the container input
    ///         it read from `getContainerInputs`, wrapped with an empty processedInput.
    /// @param rawInput the container input (empty for delegated requests, whose input is
    ///        off-chain)
    function deliveredInput(bytes memory rawInput) internal pure returns (bytes memory) {
        return abi.encode(rawInput, bytes(""));
    }

    /*//////////////////////////////////////////////////////////////
                            FAILURE OUTPUTS
    //////////////////////////////////////////////////////////////*/

    /// @notice The placeholder output Ritual's node simulates every delivery with: 32 zero bytes.
    function placeholder() internal pure returns (bytes memory) {
        return new bytes(PLACEHOLDER_SIZE);
    }

    /// @notice What a node delivers when the container's reply lacks the five on-chain fields:
    ///         `abi.encode(string)` of the reply's text, which decodes as no task's output.
    /// @param reply the container's reply as text (e.g. "{'code': '500'}")
    function nodeFallback(string memory reply) internal pure returns (bytes memory) {
        return abi.encode(reply);
    }

    /*//////////////////////////////////////////////////////////////
                                 VALUES
    //////////////////////////////////////////////////////////////*/

    /// @notice `numerator / denominator` as a score times SCORE_SCALE, truncated like the service
    ///         (e.g. `score(9_998, 10_000)` is 999_800 for a probability of 0.9998).
    /// @param numerator probability numerator
    /// @param denominator probability denominator (non-zero)
    function score(uint256 numerator, uint256 denominator) internal pure returns (uint256) {
        return numerator * SCORE_SCALE / denominator;
    }

    /// @notice A one-element string array.
    /// @param value the element
    function one(string memory value) internal pure returns (string[] memory values) {
        values = new string[](1);
        values[0] = value;
    }

    /// @notice A one-element uint256 array.
    /// @param value the element
    function one(uint256 value) internal pure returns (uint256[] memory values) {
        values = new uint256[](1);
        values[0] = value;
    }

    /// @notice A two-element string array.
    /// @param first the first element
    /// @param second the second element
    function two(string memory first, string memory second)
        internal
        pure
        returns (string[] memory values)
    {
        values = new string[](2);
        values[0] = first;
        values[1] = second;
    }

    /// @notice A two-element uint256 array.
    /// @param first the first element
    /// @param second the second element
    function two(uint256 first, uint256 second) internal pure returns (uint256[] memory values) {
        values = new uint256[](2);
        values[0] = first;
        values[1] = second;
    }
}
