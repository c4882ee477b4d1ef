// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {Ownable} from "solady/auth/Ownable.sol";
import {BaseConsumer} from "infernet-sdk/consumer/Base.sol";
import {Delegator} from "infernet-sdk/pattern/Delegator.sol";
import {HFAnswerBook} from "./HFAnswerBook.sol";
import {HFInference} from "./HFInference.sol";

/// @title HFDelegatedConsumer
/// @notice Delegated subscription flow: an off-chain signer (this contract's `getSigner()`) signs
///         EIP-712 `DelegateSubscription`s with `owner = address(this)`; a node creates and delivers
///         them atomically with `deliverComputeDelegatee`, and every answer is recorded here.
/// @dev The request never reaches this contract (the node gets it off-chain), so answers are
///      recorded with task 0 and decoded by their shape: text (tasks 1, 4) or labels (tasks 2, 3).
contract HFDelegatedConsumer is BaseConsumer, Delegator, HFAnswerBook, Ownable {
    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param registry Registry address (0x663F3ad617193148711d28f5334eE4Ed07016602 locally)
    /// @param signer delegated signer (owner may rotate it with `updateSigner`)
    constructor(address registry, address signer) BaseConsumer(registry) Delegator(signer) {
        _initializeOwner(msg.sender);
    }

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
    ) internal override {
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
