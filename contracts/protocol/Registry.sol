// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

/// @title Registry
/// @notice Immutable address book of the Infernet protocol contracts.
/// @dev Every other protocol contract reads its peers from here in its constructor, so the
///      deployer precomputes all CREATE addresses first (see scripts/DeployProtocol.s.sol). The
///      constructor argument order is part of the deployment recipe and must not change.
contract Registry {
    /*//////////////////////////////////////////////////////////////
                               IMMUTABLE
    //////////////////////////////////////////////////////////////*/

    /// @notice Coordinator (EIP712Coordinator) address.
    address public immutable COORDINATOR;

    /// @notice Inbox address (lazy subscription outputs).
    address public immutable INBOX;

    /// @notice Reader address (batch views used by nodes).
    address public immutable READER;

    /// @notice Fee address (protocol fee and its recipient).
    /// @dev Shares selector 0xc57981b5 with `Fee.FEE()`, which returns a uint16 instead.
    address public immutable FEE;

    /// @notice WalletFactory address (creates and vouches for payment wallets).
    address public immutable WALLET_FACTORY;

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @notice Records the protocol contract addresses.
    /// @param coordinator Coordinator address
    /// @param inbox Inbox address
    /// @param reader Reader address
    /// @param fee Fee address
    /// @param walletFactory WalletFactory address
    constructor(
        address coordinator,
        address inbox,
        address reader,
        address fee,
        address walletFactory
    ) {
        COORDINATOR = coordinator;
        INBOX = inbox;
        READER = reader;
        FEE = fee;
        WALLET_FACTORY = walletFactory;
    }
}
