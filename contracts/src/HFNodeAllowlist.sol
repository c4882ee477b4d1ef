// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {Ownable} from "solady/auth/Ownable.sol";
import {Allowlist} from "infernet-sdk/pattern/Allowlist.sol";

/// @title HFNodeAllowlist
/// @notice The nodes a consumer takes deliveries from, chosen at deployment and changed by its
///         owner: infernet-sdk's Allowlist (apply `onlyAllowedNode(node)` to `_receiveCompute`)
///         with a non-empty start, an owner-only update and an event per change.
/// @dev The Coordinator lets any address deliver first. A consumer that records malformed
///      outputs instead of reverting (so the placeholder simulation of Ritual's node passes) would
///      otherwise let a stranger fill a request's redundancy slots with junk or a wrong answer,
///      and the chosen node's delivery would then revert. A refused delivery reverts the whole
///      `deliverCompute`, so it takes no slot. Sets the owner to the deployer.
abstract contract HFNodeAllowlist is Allowlist, Ownable {
    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Emitted when `node` is allowed or disallowed (the initial nodes included).
    event NodeAllowlistUpdated(address indexed node, bool allowed);

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice Thrown by the constructor without nodes: no delivery could ever be accepted.
    error NoAllowedNodes();

    /// @notice Thrown by `updateAllowlist()` if `nodes` and `statuses` differ in length.
    error AllowlistLengthMismatch(uint256 nodes, uint256 statuses);

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param allowedNodes the nodes allowed to deliver (at least one; e.g. the local stack's
    ///        node, anvil #1 0x70997970C51812dc3A010C7d01b50e0d17dc79C8)
    constructor(address[] memory allowedNodes) Allowlist(allowedNodes) {
        // Revert if no node could ever deliver
        if (allowedNodes.length == 0) {
            revert NoAllowedNodes();
        }
        _initializeOwner(msg.sender);
        for (uint256 i = 0; i < allowedNodes.length; i++) {
            emit NodeAllowlistUpdated(allowedNodes[i], true);
        }
    }

    /*//////////////////////////////////////////////////////////////
                                FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Allows (`true`) or disallows (`false`) each of `nodes`; owner only.
    /// @param nodes the nodes to change
    /// @param statuses one status per node
    function updateAllowlist(address[] calldata nodes, bool[] calldata statuses)
        external
        onlyOwner
    {
        // Revert if a node has no status or a status no node
        if (nodes.length != statuses.length) {
            revert AllowlistLengthMismatch(nodes.length, statuses.length);
        }
        _updateAllowlist(nodes, statuses);
        for (uint256 i = 0; i < nodes.length; i++) {
            emit NodeAllowlistUpdated(nodes[i], statuses[i]);
        }
    }
}
