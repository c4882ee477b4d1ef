// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

/// @title IVerifier
/// @notice Proof verifier a subscription may name. The Coordinator pays it `fee(token)` per
///         delivery, asks it to verify the node's proof, and expects it to settle the escrow later
///         with `Coordinator.finalizeProofVerification` (atomically or after the fact).
interface IVerifier {
    /// @notice Address that receives the verifier fee (need not be a factory Wallet).
    /// @dev 4-byte signature: `0x13299604`
    function getWallet() external view returns (address);

    /// @notice Whether the verifier accepts payment in `token` (address(0) = ETH).
    /// @dev 4-byte signature: `0x240028e8`
    function isSupportedToken(address token) external view returns (bool);

    /// @notice Verification fee in `token`.
    /// @dev 4-byte signature: `0x6fcca69b`
    function fee(address token) external view returns (uint256);

    /// @notice Starts verification of `node`'s proof for (subscriptionId, interval).
    /// @dev Should accept calls from the Coordinator only. 4-byte signature: `0x81e79a90`
    function requestProofVerification(
        uint32 subscriptionId,
        uint32 interval,
        address node,
        bytes calldata proof
    ) external;

    /// @notice Accepts ETH fees.
    receive() external payable;
}
