// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {Ownable} from "solady/auth/Ownable.sol";

/// @title Fee
/// @notice Protocol fee in basis points; its owner is the fee recipient.
/// @dev The Coordinator reads `FEE` and `FEE_RECIPIENT` on every paid delivery, so updates apply
///      to the next delivery. No bounds check on the fee, as upstream.
contract Fee is Ownable {
    /*//////////////////////////////////////////////////////////////
                                MUTABLE
    //////////////////////////////////////////////////////////////*/

    /// @notice Protocol fee in basis points (10_000 = 100.00%).
    /// @dev uint16: the largest meaningful value, 10_000, fits. 4-byte signature: `0xc57981b5`
    uint16 public FEE;

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @notice Sets the owner (fee recipient) and the initial fee.
    /// @param feeRecipient Owner and recipient of protocol fees
    /// @param fee Initial fee in basis points
    constructor(address feeRecipient, uint16 fee) {
        _initializeOwner(feeRecipient);
        FEE = fee;
    }

    /*//////////////////////////////////////////////////////////////
                                FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Replaces the protocol fee.
    /// @dev 4-byte signature: `0x2c6cda93`
    /// @param newFee New fee in basis points
    function updateFee(uint16 newFee) external onlyOwner {
        FEE = newFee;
    }

    /// @notice Recipient of protocol fees (the owner).
    /// @dev 4-byte signature: `0xebd09054`
    function FEE_RECIPIENT() external view returns (address) {
        return owner();
    }
}
