// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {BaseConsumer} from "./Base.sol";

/// @title CallbackConsumer
/// @notice One-time compute requests: `_requestCompute` creates a one-shot, eager subscription and
///         keeps its input for nodes to read through `getContainerInputs`.
abstract contract CallbackConsumer is BaseConsumer {
    /*//////////////////////////////////////////////////////////////
                                MUTABLE
    //////////////////////////////////////////////////////////////*/

    /// @notice Subscription id => container input.
    mapping(uint32 => bytes) internal subscriptionInputs;

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param registry Registry address
    constructor(address registry) BaseConsumer(registry) {}

    /*//////////////////////////////////////////////////////////////
                           INTERNAL FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Requests one computation of `inputs` by container `containerId`.
    /// @param containerId container id string (comma-joined for a DAG)
    /// @param inputs container input
    /// @param redundancy number of nodes that should answer
    /// @param paymentToken payment token (address(0) = ETH)
    /// @param paymentAmount payment per delivery (0 = unpaid)
    /// @param wallet consumer Wallet (address(0) when unpaid)
    /// @param verifier optional IVerifier (address(0) = none)
    /// @return subscription id
    function _requestCompute(
        string memory containerId,
        bytes memory inputs,
        uint16 redundancy,
        address paymentToken,
        uint256 paymentAmount,
        address wallet,
        address verifier
    ) internal returns (uint32) {
        uint32 subscriptionId = COORDINATOR.createSubscription(
            containerId,
            1, // frequency == 1, one-time request
            0, // period == 0, active immediately
            redundancy,
            false, // lazy == false, callbacks are eager
            paymentToken,
            paymentAmount,
            wallet,
            verifier
        );
        subscriptionInputs[subscriptionId] = inputs;
        return subscriptionId;
    }

    /*//////////////////////////////////////////////////////////////
                           OVERRIDE FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice The input stored for `subscriptionId` (other arguments are ignored).
    function getContainerInputs(uint32 subscriptionId, uint32, uint32, address)
        external
        view
        virtual
        override
        returns (bytes memory)
    {
        return subscriptionInputs[subscriptionId];
    }
}
