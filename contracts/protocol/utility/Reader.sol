// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {Coordinator, Subscription} from "../Coordinator.sol";
import {Registry} from "../Registry.sol";

/// @title Reader
/// @notice Batch views nodes use to sync Coordinator state in few RPC calls.
contract Reader {
    /*//////////////////////////////////////////////////////////////
                               IMMUTABLE
    //////////////////////////////////////////////////////////////*/

    /// @notice Coordinator, read from the Registry.
    Coordinator private immutable COORDINATOR;

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param registry Registry contract
    constructor(Registry registry) {
        COORDINATOR = Coordinator(registry.COORDINATOR());
    }

    /*//////////////////////////////////////////////////////////////
                                FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Subscriptions with ids in [startId, endId); unknown ids give all-zero structs.
    /// @dev Checked subtraction: `endId < startId` reverts. 4-byte signature: `0x3ddc29f5`
    function readSubscriptionBatch(uint32 startId, uint32 endId)
        external
        view
        returns (Subscription[] memory)
    {
        uint32 length = endId - startId;
        Subscription[] memory batch = new Subscription[](length);
        for (uint32 i = 0; i < length; i++) {
            batch[i] = COORDINATOR.getSubscription(startId + i);
        }
        return batch;
    }

    /// @notice `redundancyCount` of each (ids[i], intervals[i]) pair; 0 if unknown.
    /// @dev `intervals` must be at least as long as `ids`. 4-byte signature: `0x757f1c84`
    function readRedundancyCountBatch(uint32[] calldata ids, uint32[] calldata intervals)
        external
        view
        returns (uint16[] memory)
    {
        uint16[] memory counts = new uint16[](ids.length);
        for (uint256 i = 0; i < ids.length; i++) {
            counts[i] = COORDINATOR.redundancyCount(keccak256(abi.encode(ids[i], intervals[i])));
        }
        return counts;
    }
}
