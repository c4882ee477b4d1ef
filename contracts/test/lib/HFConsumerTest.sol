// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {ProtocolTest} from "./ProtocolTest.sol";

/// @title HFConsumerTest
/// @notice Builds service outputs the way the node delivers them:
///         `abi.encode(bytes rawOutput, bytes processedOutput)`, processedOutput empty.
abstract contract HFConsumerTest is ProtocolTest {
    /// @notice The container id of the local stack.
    string internal constant CONTAINER_ID = "hf_inference_client_service";

    /// @notice HFTaskId values.
    uint8 internal constant TEXT_GENERATION = 1;
    uint8 internal constant TEXT_CLASSIFICATION = 2;
    uint8 internal constant TOKEN_CLASSIFICATION = 3;
    uint8 internal constant SUMMARIZATION = 4;

    /// @notice A node no consumer here allows.
    address internal immutable STRANGER = makeAddr("stranger");

    /// @notice The nodes the consumers here allow: ALICE, BOB and CHARLIE.
    function _allowedNodes() internal view returns (address[] memory nodes) {
        nodes = new address[](3);
        nodes[0] = ALICE;
        nodes[1] = BOB;
        nodes[2] = CHARLIE;
    }

    /// @notice Delivered output of tasks 1 and 4.
    function _textOutput(string memory text) internal pure returns (bytes memory) {
        return abi.encode(abi.encode(text), bytes(""));
    }

    /// @notice Delivered output of tasks 2 and 3.
    function _labelsOutput(string[] memory labels, uint256[] memory scores)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encode(abi.encode(labels, scores), bytes(""));
    }

    /// @notice A two-label classification: POSITIVE 0.9998, NEGATIVE 0.0002 (times 1e6).
    function _sentiment() internal pure returns (string[] memory labels, uint256[] memory scores) {
        labels = new string[](2);
        labels[0] = "POSITIVE";
        labels[1] = "NEGATIVE";
        scores = new uint256[](2);
        scores[0] = 999_800;
        scores[1] = 200;
    }

    /// @notice `_sentiment()` as the node delivers it.
    function _sentimentOutput() internal pure returns (bytes memory) {
        (string[] memory labels, uint256[] memory scores) = _sentiment();
        return _labelsOutput(labels, scores);
    }

    /// @notice What the node delivers when the container reply lacks the five keys.
    function _fallbackOutput() internal pure returns (bytes memory) {
        return abi.encode("{'code': '500'}");
    }
}
