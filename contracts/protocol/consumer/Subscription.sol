// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {BaseConsumer} from "./Base.sol";

/// @title SubscriptionConsumer
/// @notice Recurring compute: the consumer owns subscriptions on the Coordinator and serves each
///         interval's input by overriding `getContainerInputs`.
abstract contract SubscriptionConsumer is BaseConsumer {
    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param registry Registry address
    constructor(address registry) BaseConsumer(registry) {}

    /*//////////////////////////////////////////////////////////////
                           INTERNAL FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Creates a subscription owned by this contract (passed straight to the Coordinator).
    /// @param containerId container id string
    /// @param frequency maximum number of intervals
    /// @param period seconds per interval (0 = one-shot); first interval starts one period from now
    /// @param redundancy nodes per interval
    /// @param lazy store outputs in the Inbox
    /// @param paymentToken payment token (address(0) = ETH)
    /// @param paymentAmount payment per delivery (0 = unpaid)
    /// @param wallet consumer Wallet
    /// @param verifier optional IVerifier
    /// @return subscription id
    function _createComputeSubscription(
        string memory containerId,
        uint32 frequency,
        uint32 period,
        uint16 redundancy,
        bool lazy,
        address paymentToken,
        uint256 paymentAmount,
        address wallet,
        address verifier
    ) internal returns (uint32) {
        return COORDINATOR.createSubscription(
            containerId,
            frequency,
            period,
            redundancy,
            lazy,
            paymentToken,
            paymentAmount,
            wallet,
            verifier
        );
    }

    /// @notice Cancels a subscription this contract owns.
    function _cancelComputeSubscription(uint32 subscriptionId) internal {
        COORDINATOR.cancelSubscription(subscriptionId);
    }
}
