// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {SSTORE2} from "solady/utils/SSTORE2.sol";
import {CallbackConsumer} from "infernet-sdk/consumer/Callback.sol";
import {Allowlist} from "infernet-sdk/pattern/Allowlist.sol";

/// @title AskModel
/// @notice Asks the HF Inference Client Service to continue a prompt and keeps the answer: a
///         CallbackConsumer with `_requestCompute` and `_receiveCompute`, as in Infernet's docs.
/// @dev A delivery whose output is not a completion is recorded, never reverted on: Ritual's node
///      simulates every delivery with a placeholder output (32 zero bytes) before it runs the
///      container, and a revert there is logged as an error and retried. As that makes any output
///      acceptable, only the nodes chosen at deployment may deliver (infernet-sdk's Allowlist):
///      a stranger's delivery reverts instead of taking the request's only slot.
///      Each completion is kept as the code of a small data contract (solady's SSTORE2): 200 gas
///      per byte against 20,000 per 32-byte storage word, so a 1 KiB answer costs about a third.
contract AskModel is CallbackConsumer, Allowlist {
    /// @notice The service's container id in the node's config.json.
    string public constant CONTAINER_ID = "hf_inference_client_service";

    /// @notice The service's task id for text generation.
    uint8 public constant TEXT_GENERATION = 1;

    /// @notice Subscription id => data contract holding its completion (address(0): none yet).
    mapping(uint32 => address) private answerPointers;

    /// @notice Deliveries per subscription id that were not a completion.
    mapping(uint32 => uint256) public malformedDeliveries;

    /// @notice Emitted when a prompt is sent.
    event Asked(uint32 indexed subscriptionId, string prompt);

    /// @notice Emitted when a node's completion arrives.
    event Answered(uint32 indexed subscriptionId, address indexed node, string answer);

    /// @notice Emitted when a delivery's output is not a completion (e.g. the placeholder).
    event MalformedDelivery(uint32 indexed subscriptionId, uint32 interval, address indexed node);

    /// @param registry the Infernet Registry (0x663F3ad617193148711d28f5334eE4Ed07016602 locally)
    /// @param nodes the nodes allowed to deliver (locally: anvil #1, the stack's node)
    constructor(address registry, address[] memory nodes)
        CallbackConsumer(registry)
        Allowlist(nodes)
    {}

    /// @notice Sends `prompt` to the service's default text-generation model.
    /// @param prompt the text to continue
    /// @return subscriptionId the request's subscription id (its answer arrives for interval 1)
    function ask(string calldata prompt) external returns (uint32 subscriptionId) {
        subscriptionId = _requestCompute(
            CONTAINER_ID,
            abi.encode(TEXT_GENERATION, "", prompt), // (uint8 task, string model, string input)
            1, // redundancy: one node answers
            address(0), // paymentToken: unpaid
            0, // paymentAmount: unpaid
            address(0), // wallet: unpaid
            address(0) // verifier: none
        );
        emit Asked(subscriptionId, prompt);
    }

    /// @notice The completion for `subscriptionId` ("" until it arrives).
    /// @param subscriptionId the request's subscription id
    function answers(uint32 subscriptionId) external view returns (string memory) {
        address pointer = answerPointers[subscriptionId];
        if (pointer == address(0)) {
            return "";
        }
        return string(SSTORE2.read(pointer));
    }

    /// @notice The completion inside a delivered output; reverts if there is none.
    /// @dev The node delivers `abi.encode(bytes rawOutput, bytes processedOutput)`; for text
    ///      generation rawOutput is `abi.encode(string)`. External so `_receiveCompute` can try it.
    /// @param output the delivered output
    function decodeAnswer(bytes calldata output) external pure returns (string memory) {
        (bytes memory rawOutput,) = abi.decode(output, (bytes, bytes));
        return abi.decode(rawOutput, (string));
    }

    /// @notice Stores the node's completion, or records a delivery that carried none.
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
        try this.decodeAnswer(output) returns (string memory answer) {
            answerPointers[subscriptionId] = SSTORE2.write(bytes(answer));
            emit Answered(subscriptionId, node, answer);
        } catch {
            malformedDeliveries[subscriptionId] += 1;
            emit MalformedDelivery(subscriptionId, interval, node);
        }
    }
}
