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
contract HFDelegatedConsumer is BaseConsumer, Delegator, HFAnswerBook, HFNodeAllowlist {
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

    /*//////////////////////////////////////////////////////////////
                                FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Rotates the delegated signer; subscriptions created earlier stay valid.
    function updateSigner(address newSigner) external onlyOwner {
        _updateSigner(newSigner);
    }
}
