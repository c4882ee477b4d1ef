// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {CallbackConsumer} from "infernet-sdk/consumer/Callback.sol";

/// @title HFExampleConsumer
/// @notice The smallest consumer of the HF service, written the way Infernet's documentation writes
///         a CallbackConsumer (7-argument `_requestCompute`, 9-parameter `_receiveCompute`), so it
///         compiles unchanged against Ritual's infernet-sdk as well as ours.
contract HFExampleConsumer is CallbackConsumer {
    /// @notice The service's container id in the node's config.json.
    string private constant CONTAINER_ID = "hf_inference_client_service";

    /// @notice HFTaskId.TEXT_GENERATION.
    uint8 private constant TEXT_GENERATION = 1;

    /// @notice Generated text per subscription id.
    mapping(uint32 => string) public completions;

    /// @notice Emitted when the node's answer arrives.
    event CompletionReceived(uint32 indexed subscriptionId, address indexed node, string text);

    constructor(address registry) CallbackConsumer(registry) {}

    /// @notice Asks the service to continue `prompt` with the default text-generation model.
    function generate(string calldata prompt) external returns (uint32) {
        return _requestCompute(
            CONTAINER_ID,
            abi.encode(TEXT_GENERATION, "", prompt), // (uint8 task, string model, string input)
            1, // redundancy
            address(0), // paymentToken
            0, // paymentAmount
            address(0), // wallet
            address(0) // verifier
        );
    }

    function _receiveCompute(
        uint32 subscriptionId,
        uint32, /* interval */
        uint16, /* redundancy */
        address node,
        bytes calldata, /* input */
        bytes calldata output,
        bytes calldata, /* proof */
        bytes32, /* containerId */
        uint256 /* index */
    ) internal override {
        // The node delivers abi.encode(bytes rawOutput, bytes processedOutput)
        (bytes memory rawOutput,) = abi.decode(output, (bytes, bytes));
        string memory text = abi.decode(rawOutput, (string));
        completions[subscriptionId] = text;
        emit CompletionReceived(subscriptionId, node, text);
    }
}
