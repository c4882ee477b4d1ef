// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

/// @title Allowlist
/// @notice Restricts which nodes a consumer accepts deliveries from; apply `onlyAllowedNode(node)`
///         to `_receiveCompute`.
abstract contract Allowlist {
    /*//////////////////////////////////////////////////////////////
                                MUTABLE
    //////////////////////////////////////////////////////////////*/

    /// @notice node => allowed.
    mapping(address => bool) private allowedNodes;

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice Thrown by `onlyAllowedNode` if the delivering node is not allowed.
    /// @dev 4-byte signature: `0x42764946`
    error NodeNotAllowed();

    /*//////////////////////////////////////////////////////////////
                               MODIFIERS
    //////////////////////////////////////////////////////////////*/

    /// @notice Allows only allow-listed nodes.
    modifier onlyAllowedNode(address node) {
        // Revert if the node is not allowed
        if (!allowedNodes[node]) {
            revert NodeNotAllowed();
        }
        _;
    }

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param initialAllowed nodes allowed from the start
    constructor(address[] memory initialAllowed) {
        for (uint256 i = 0; i < initialAllowed.length; i++) {
            allowedNodes[initialAllowed[i]] = true;
        }
    }

    /*//////////////////////////////////////////////////////////////
                           INTERNAL FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Sets each node's status; `statuses` must be at least as long as `nodes`.
    function _updateAllowlist(address[] memory nodes, bool[] memory statuses) internal {
        for (uint256 i = 0; i < nodes.length; i++) {
            allowedNodes[nodes[i]] = statuses[i];
        }
    }

    /*//////////////////////////////////////////////////////////////
                                FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Whether `node` is allowed.
    /// @dev 4-byte signature: `0xa136e529`
    function isAllowedNode(address node) external view returns (bool) {
        return allowedNodes[node];
    }
}
