// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {Registry} from "./Registry.sol";
import {Coordinated} from "./utility/Coordinated.sol";

/// @notice One stored compute output.
/// @dev Fields in upstream order; the `items` getter returns them as a tuple.
struct InboxItem {
    /// @notice Block timestamp of the write (uint32: seconds fit until 2106).
    uint32 timestamp;
    /// @notice Subscription id; 0 for direct `write()` calls.
    uint32 subscriptionId;
    /// @notice Delivery interval; 0 for direct `write()` calls.
    uint32 interval;
    /// @notice Container input.
    bytes input;
    /// @notice Container output.
    bytes output;
    /// @notice Container proof.
    bytes proof;
}

/// @title Inbox
/// @notice Store of compute outputs, keyed by (hashed containerId, node). Lazy subscriptions have
///         their outputs written here by the Coordinator, and the consumer callback gets the index.
/// @dev Checking that an item belongs to the expected container is the consumer's job.
contract Inbox is Coordinated {
    /*//////////////////////////////////////////////////////////////
                                MUTABLE
    //////////////////////////////////////////////////////////////*/

    /// @notice containerId => node => items, in write order.
    /// @dev 4-byte signature of the getter `items(bytes32,address,uint256)`: `0x93eaef1f`
    mapping(bytes32 => mapping(address => InboxItem[])) public items;

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Emitted when an item is appended at `index`.
    event NewInboxItem(bytes32 indexed containerId, address indexed node, uint256 index);

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param registry Registry contract
    constructor(Registry registry) Coordinated(registry) {}

    /*//////////////////////////////////////////////////////////////
                           INTERNAL FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Appends an item under (containerId, node) and returns its index.
    function _write(
        bytes32 containerId,
        address node,
        uint32 subscriptionId,
        uint32 interval,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof
    ) internal returns (uint256 index) {
        InboxItem[] storage list = items[containerId][node];
        index = list.length;
        list.push(
            InboxItem({
                timestamp: uint32(block.timestamp),
                subscriptionId: subscriptionId,
                interval: interval,
                input: input,
                output: output,
                proof: proof
            })
        );
        emit NewInboxItem(containerId, node, index);
    }

    /*//////////////////////////////////////////////////////////////
                                FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Stores an output under the caller's address, outside any subscription.
    /// @dev 4-byte signature: `0x198896dd`
    /// @return index of the new item
    function write(
        bytes32 containerId,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof
    ) external returns (uint256) {
        return _write(containerId, msg.sender, 0, 0, input, output, proof);
    }

    /// @notice Stores a lazy subscription's output on behalf of `node`.
    /// @dev Coordinator only. 4-byte signature: `0x76a87949`
    /// @return index of the new item
    function writeViaCoordinator(
        bytes32 containerId,
        address node,
        uint32 subscriptionId,
        uint32 interval,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof
    ) external onlyCoordinator returns (uint256) {
        return _write(containerId, node, subscriptionId, interval, input, output, proof);
    }

    /// @notice Reads one item.
    /// @dev 4-byte signature: `0x586a6094`
    function read(bytes32 containerId, address node, uint256 index)
        external
        view
        returns (InboxItem memory)
    {
        return items[containerId][node][index];
    }
}
