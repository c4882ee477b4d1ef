// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {CallbackConsumer} from "infernet-sdk/consumer/Callback.sol";
import {Delegator} from "infernet-sdk/pattern/Delegator.sol";
import {HFAnswerBook} from "./HFAnswerBook.sol";
import {HFInference} from "./HFInference.sol";
import {HFNodeAllowlist} from "./HFNodeAllowlist.sol";

/// @title HFCallbackConsumer
/// @notice Callback flow: anyone requests one HF inference (any task, any model); the node answers
///         once per requested node (redundancy) and each answer is stored under the subscription id,
///         interval 1. Also a Delegator, so its signer may create delegated subscriptions for it,
///         whose answers are recorded the same way (task 0: decoded by shape). Only the nodes on
///         its allowlist (HFNodeAllowlist) may deliver.
contract HFCallbackConsumer is CallbackConsumer, Delegator, HFAnswerBook, HFNodeAllowlist {
    /*//////////////////////////////////////////////////////////////
                             PUBLIC STRUCTS
    //////////////////////////////////////////////////////////////*/

    /// @notice A request as the caller made it.
    struct HFRequest {
        /// @notice Task id (1..4, see HFInference).
        uint8 task;
        /// @notice Model id ("" = the backend's default for the task).
        string model;
        /// @notice Prompt or text.
        string input;
    }

    /*//////////////////////////////////////////////////////////////
                                MUTABLE
    //////////////////////////////////////////////////////////////*/

    /// @notice Container id string requests go to (the node's config.json container id).
    string public serviceContainerId;

    /// @notice Subscription id => request.
    mapping(uint32 => HFRequest) private requests;

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Emitted when a request creates subscription `subscriptionId`.
    event ComputeRequested(
        uint32 indexed subscriptionId,
        address indexed requester,
        uint8 task,
        string model,
        string input,
        uint16 redundancy
    );

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice Thrown by `requestCompute()` for redundancy 0, which the Coordinator would accept
    ///         but never deliver.
    error ZeroRedundancy();

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param registry Registry address (0x663F3ad617193148711d28f5334eE4Ed07016602 locally)
    /// @param containerId container id string ("hf_inference_client_service" in the local stack)
    /// @param signer delegated signer (owner may rotate it with `updateSigner`)
    /// @param allowedNodes nodes allowed to deliver (owner may change them with `updateAllowlist`)
    constructor(
        address registry,
        string memory containerId,
        address signer,
        address[] memory allowedNodes
    ) CallbackConsumer(registry) Delegator(signer) HFNodeAllowlist(allowedNodes) {
        serviceContainerId = containerId;
    }

    /*//////////////////////////////////////////////////////////////
                           OVERRIDE FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Records the delivery under the requested task (0 for delegated subscriptions).
    function _receiveCompute(
        uint32 subscriptionId,
        uint32 interval,
        uint16 redundancy,
        address node,
        bytes calldata, /* input */
        bytes calldata output,
        bytes calldata, /* proof */
        bytes32 containerId,
        uint256 index
    ) internal override onlyAllowedNode(node) {
        uint8 task = requests[subscriptionId].task;
        _recordDelivery(
            INBOX, subscriptionId, interval, redundancy, node, task, output, containerId, index
        );
    }

    /*//////////////////////////////////////////////////////////////
                                FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Requests one inference; the answer arrives as `AnswerReceived(subscriptionId, 1, ...)`
    ///         and through `getAnswer(subscriptionId, 1)`.
    /// @param task task id (1 text generation, 2 text classification, 3 token classification,
    ///        4 summarization)
    /// @param model model id ("" = default)
    /// @param input prompt or text
    /// @param redundancy number of nodes that should answer (>= 1)
    /// @return subscriptionId the Coordinator subscription id
    function requestCompute(
        uint8 task,
        string calldata model,
        string calldata input,
        uint16 redundancy
    ) external returns (uint32 subscriptionId) {
        // Revert if no node could ever answer
        if (redundancy == 0) {
            revert ZeroRedundancy();
        }
        bytes memory encoded = HFInference.encodeInput(task, model, input);
        subscriptionId = _requestCompute(
            serviceContainerId,
            encoded,
            redundancy,
            address(0), // paymentToken: unpaid
            0, // paymentAmount: unpaid
            address(0), // wallet: unpaid
            address(0) // verifier: none
        );
        requests[subscriptionId] = HFRequest({task: task, model: model, input: input});
        emit ComputeRequested(subscriptionId, msg.sender, task, model, input, redundancy);
    }

    /// @notice The request behind `subscriptionId` (task 0 if none).
    function getRequest(uint32 subscriptionId) external view returns (HFRequest memory) {
        return requests[subscriptionId];
    }

    /// @notice Rotates the delegated signer.
    function updateSigner(address newSigner) external onlyOwner {
        _updateSigner(newSigner);
    }
}
