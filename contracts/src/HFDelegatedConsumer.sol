// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {BaseConsumer} from "infernet-sdk/consumer/Base.sol";
import {Delegator} from "infernet-sdk/pattern/Delegator.sol";
import {HFAnswerBook} from "./HFAnswerBook.sol";
import {HFInference} from "./HFInference.sol";
import {HFNodeAllowlist} from "./HFNodeAllowlist.sol";

/// @title HFDelegatedConsumer
/// @notice Delegated subscription flow: an off-chain signer (this contract's `getSigner()`) signs
///         EIP-712 `DelegateSubscription`s with `owner = address(this)`; a node creates and delivers
///         them atomically with `deliverComputeDelegatee`, and every answer is recorded here.
/// @dev The request never reaches this contract (the node gets it off-chain), so answers are
///      recorded with task 0 and decoded by their shape: text (tasks 1, 4) or labels (tasks 2, 3).
///      Only the nodes on its allowlist may deliver: whoever holds a signed subscription could
///      otherwise submit it with an output of their own.
///      A recurring delegated subscription's first interval runs on the signed request's data; its
///      later intervals are read from `getContainerInputs` like any subscription's (Infernet Node
///      1.4 picks them up through its ordinary sync), so the owner sets their input once the
///      first delivery has created the subscription (`setSubscriptionInput`); without one, the
///      input is empty and the service refuses it.
contract HFDelegatedConsumer is BaseConsumer, Delegator, HFAnswerBook, HFNodeAllowlist {
    /*//////////////////////////////////////////////////////////////
                                MUTABLE
    //////////////////////////////////////////////////////////////*/

    /// @notice subscriptionId => the encoded input of its later intervals (HFInference.encodeInput)
    mapping(uint32 => bytes) private subscriptionInputs;

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Emitted when the owner sets the input of a subscription's later intervals.
    event SubscriptionInputSet(uint32 indexed subscriptionId, uint8 task);

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param registry Registry address (0x663F3ad617193148711d28f5334eE4Ed07016602 locally)
    /// @param signer delegated signer (owner may rotate it with `updateSigner`)
    /// @param allowedNodes nodes allowed to deliver (owner may change them with `updateAllowlist`)
    constructor(address registry, address signer, address[] memory allowedNodes)
        BaseConsumer(registry)
        Delegator(signer)
        HFNodeAllowlist(allowedNodes)
    {}

    /*//////////////////////////////////////////////////////////////
                           OVERRIDE FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Records the delivery with task 0: the request never reached this contract.
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
        uint8 task = HFInference.TASK_UNSET;
        _recordDelivery(
            INBOX, subscriptionId, interval, redundancy, node, task, output, containerId, index
        );
    }

    /// @notice What a node reads for an interval a signed request did not carry: the input the
    ///         owner set for the subscription, or nothing.
    function getContainerInputs(uint32 subscriptionId, uint32, uint32, address)
        external
        view
        override
        returns (bytes memory)
    {
        return subscriptionInputs[subscriptionId];
    }

    /*//////////////////////////////////////////////////////////////
                                FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Rotates the delegated signer; subscriptions created earlier stay valid.
    function updateSigner(address newSigner) external onlyOwner {
        _updateSigner(newSigner);
    }

    /// @notice Sets what the service is asked in `subscriptionId`'s later intervals.
    /// @param subscriptionId the Coordinator's id (`delegateCreatedIds` once it is created)
    /// @param task HF task id (1-4)
    /// @param model model id ("" = default)
    /// @param input prompt or text
    function setSubscriptionInput(
        uint32 subscriptionId,
        uint8 task,
        string calldata model,
        string calldata input
    ) external onlyOwner {
        // encodeInput reverts UnsupportedTask for a task the service would reject
        subscriptionInputs[subscriptionId] = HFInference.encodeInput(task, model, input);
        emit SubscriptionInputSet(subscriptionId, task);
    }
}
