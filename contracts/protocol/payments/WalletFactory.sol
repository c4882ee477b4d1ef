// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {Registry} from "../Registry.sol";
import {Wallet} from "./Wallet.sol";

/// @title WalletFactory
/// @notice Creates payment Wallets and vouches for them: the Coordinator only moves funds between
///         wallets this factory created.
/// @dev Wallets are created with plain CREATE, so the n-th wallet's address follows from the
///      factory address and nonce n (starting at 1), which the fixed infernet-anvil addresses rely on.
contract WalletFactory {
    /*//////////////////////////////////////////////////////////////
                               IMMUTABLE
    //////////////////////////////////////////////////////////////*/

    /// @notice Registry passed on to every Wallet.
    Registry private immutable REGISTRY;

    /*//////////////////////////////////////////////////////////////
                                MUTABLE
    //////////////////////////////////////////////////////////////*/

    /// @notice Wallets created by this factory.
    mapping(address => bool) private wallets;

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Emitted when `caller` creates `wallet` for `owner`.
    event WalletCreated(address indexed caller, address indexed owner, address wallet);

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param registry Registry contract
    constructor(Registry registry) {
        REGISTRY = registry;
    }

    /*//////////////////////////////////////////////////////////////
                                FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Creates a Wallet owned by `initialOwner`.
    /// @dev 4-byte signature: `0xb054a9e8`
    /// @return address of the new Wallet
    function createWallet(address initialOwner) external returns (address) {
        Wallet wallet = new Wallet(REGISTRY, initialOwner);
        wallets[address(wallet)] = true;
        emit WalletCreated(msg.sender, initialOwner, address(wallet));
        return address(wallet);
    }

    /// @notice Whether `wallet` was created by this factory.
    /// @dev 4-byte signature: `0x439a3012`
    function isValidWallet(address wallet) external view returns (bool) {
        return wallets[wallet];
    }
}
