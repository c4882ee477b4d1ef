// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

/// @title Delegator
/// @notice Names an off-chain signer allowed to create subscriptions on this contract's behalf
///         through `EIP712Coordinator.createSubscriptionDelegatee`.
/// @dev A single signer address rather than EIP-1271, as upstream. The Coordinator checks the
///      signer at creation time only; rotating it does not affect existing subscriptions.
abstract contract Delegator {
    /*//////////////////////////////////////////////////////////////
                                MUTABLE
    //////////////////////////////////////////////////////////////*/

    /// @notice Current delegated signer.
    address private signer;

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param signer_ initial delegated signer
    constructor(address signer_) {
        signer = signer_;
    }

    /*//////////////////////////////////////////////////////////////
                           INTERNAL FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Replaces the delegated signer (no event, as upstream).
    function _updateSigner(address newSigner) internal {
        signer = newSigner;
    }

    /*//////////////////////////////////////////////////////////////
                                FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Current delegated signer.
    /// @dev 4-byte signature: `0x7ac3c02f`
    function getSigner() external view returns (address) {
        return signer;
    }
}
