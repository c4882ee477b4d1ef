// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {CallbackConsumer} from "infernet-sdk/consumer/Callback.sol";
import {Allowlist} from "infernet-sdk/pattern/Allowlist.sol";
import {HFInference} from "./HFInference.sol";

/// @title HFExampleConsumer
/// @notice The smallest consumer of the HF service, written the way Infernet's documentation writes
///         a CallbackConsumer (7-argument `_requestCompute`, 9-parameter `_receiveCompute`), so it
///         compiles unchanged against Ritual's infernet-sdk as well as ours.
/// @dev An output that is not a completion is counted and announced, never reverted on: Ritual's
///      node simulates each delivery with a placeholder output (32 zero bytes) first, and a
///      revert there costs every job a logged error and a second of retries. Since that makes any
///      output acceptable, only the nodes chosen at deployment may deliver (infernet-sdk's
///      Allowlist): a stranger's delivery reverts instead of taking the request's only slot.
contract HFExampleConsumer is CallbackConsumer, Allowlist {
    /// @notice The service's container id in the node's config.json.
    string private constant CONTAINER_ID = "hf_inference_client_service";

    /// @notice HFTaskId.TEXT_GENERATION.
    uint8 private constant TEXT_GENERATION = 1;

    /// @notice Generated text per subscription id.
    mapping(uint32 => string) public completions;

    /// @notice Deliveries per subscription id whose output was not a completion.
    mapping(uint32 => uint256) public malformedDeliveries;

    /// @notice Emitted when the node's answer arrives.
    event CompletionReceived(uint32 indexed subscriptionId, address indexed node, string text);

    /// @notice Emitted when a delivery's output is not a completion (e.g. the node's simulation
    ///         placeholder); the delivery still succeeds.
    event MalformedCompletion(
        uint32 indexed subscriptionId, uint32 indexed interval, address indexed node
    );

    /// @param registry Registry address (0x663F3ad617193148711d28f5334eE4Ed07016602 locally)
    /// @param nodes the nodes allowed to deliver (the local stack's: anvil #1)
    constructor(address registry, address[] memory nodes)
        CallbackConsumer(registry)
        Allowlist(nodes)
    {}

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

    /// @notice Stores the completion, or counts a delivery that is not one.
    function _receiveCompute(
        uint32 subscriptionId,
        uint32 interval,
        uint16, /* redundancy */
        address node,
        bytes calldata, /* input */
        bytes calldata output,
        bytes calldata, /* proof */
        bytes32, /* containerId */
        uint256 /* index */
    ) internal override onlyAllowedNode(node) {
        // The node delivers abi.encode(bytes rawOutput, bytes processedOutput), rawOutput being
        // abi.encode(string) for text generation; anything else is counted, not reverted on
        (bool ok, string memory text,,) = HFInference.tryDecodeOutput(TEXT_GENERATION, output);
        if (!ok) {
            malformedDeliveries[subscriptionId] += 1;
            emit MalformedCompletion(subscriptionId, interval, node);
            return;
        }
        completions[subscriptionId] = text;
        emit CompletionReceived(subscriptionId, node, text);
    }
}
