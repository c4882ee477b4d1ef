// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {Registry} from "../Registry.sol";

/// @title Coordinated
/// @notice Restricts functions to calls from the Coordinator named in the Registry.
abstract contract Coordinated {
    /*//////////////////////////////////////////////////////////////
                               IMMUTABLE
    //////////////////////////////////////////////////////////////*/

    /// @notice Coordinator address, read from the Registry at construction.
    address private immutable COORDINATOR;

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice Thrown by `onlyCoordinator` functions when the caller is not the Coordinator.
    /// @dev 4-byte signature: `0x9ec853e6`
    error NotCoordinator();

    /*//////////////////////////////////////////////////////////////
                               MODIFIERS
    //////////////////////////////////////////////////////////////*/

    /// @notice Allows only the Coordinator to call the function.
    modifier onlyCoordinator() {
        // Revert if the caller is not the Coordinator
        if (msg.sender != COORDINATOR) {
            revert NotCoordinator();
        }
        _;
    }

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @notice Reads the Coordinator address from the Registry.
    /// @param registry Registry contract
    constructor(Registry registry) {
        COORDINATOR = registry.COORDINATOR();
    }
}
