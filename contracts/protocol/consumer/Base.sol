// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {Coordinator} from "../Coordinator.sol";
import {Inbox} from "../Inbox.sol";
import {Registry} from "../Registry.sol";

/// @title BaseConsumer
/// @notice Receives compute from the Coordinator: one external entrypoint that authenticates the
///         caller and forwards to the internal `_receiveCompute` hook.
abstract contract BaseConsumer {
    /*//////////////////////////////////////////////////////////////
                               IMMUTABLE
    //////////////////////////////////////////////////////////////*/

    /// @notice Coordinator, read from the Registry (internal: not part of the consumer's ABI).
    Coordinator internal immutable COORDINATOR;

    /// @notice Inbox, read from the Registry, for lazy outputs.
    Inbox internal immutable INBOX;

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice Thrown by `rawReceiveCompute()` if the caller is not the Coordinator.
    /// @dev 4-byte signature: `0x9ec853e6`
    error NotCoordinator();

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param registry Registry address
    constructor(address registry) {
        COORDINATOR = Coordinator(Registry(registry).COORDINATOR());
        INBOX = Inbox(Registry(registry).INBOX());
    }

    /*//////////////////////////////////////////////////////////////
                           VIRTUAL FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Hook called with each delivery.
    /// @dev Eager: `containerId == 0` and `index == 0`. Lazy: `input`, `output` and `proof` are
    ///      empty; read them with `INBOX.read(containerId, node, index)`.
    /// @param subscriptionId subscription id
    /// @param interval delivery interval
    /// @param redundancy deliveries so far in this interval, this one included
    /// @param node delivering node
    /// @param input container input
    /// @param output container output
    /// @param proof container proof
    /// @param containerId Inbox containerId (lazy) or 0
    /// @param index Inbox index (lazy) or 0
    function _receiveCompute(
        uint32 subscriptionId,
        uint32 interval,
        uint16 redundancy,
        address node,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof,
        bytes32 containerId,
        uint256 index
    ) internal virtual {}

    /*//////////////////////////////////////////////////////////////
                                FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Coordinator entrypoint for deliveries; forwards to `_receiveCompute`.
    /// @dev 4-byte signature: `0x7a411a8d`
    function rawReceiveCompute(
        uint32 subscriptionId,
        uint32 interval,
        uint16 redundancy,
        address node,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof,
        bytes32 containerId,
        uint256 index
    ) external {
        // Revert if the caller is not the Coordinator
        if (msg.sender != address(COORDINATOR)) {
            revert NotCoordinator();
        }
        _receiveCompute(
            subscriptionId, interval, redundancy, node, input, output, proof, containerId, index
        );
    }

    /// @notice Container input a node should use for (subscriptionId, interval); nodes call this
    ///         off-chain with their own address as `caller`. Empty by default.
    /// @dev 4-byte signature: `0x962fad75`
    function getContainerInputs(
        uint32 subscriptionId,
        uint32 interval,
        uint32 timestamp,
        address caller
    ) external view virtual returns (bytes memory) {}
}
