// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {Script} from "forge-std/Script.sol";
import {console} from "forge-std/console.sol";
import {AskModel} from "../src/AskModel.sol";

/// @title Deploy
/// @notice Deploys AskModel against the Registry in REGISTRY (default: the local stack's), taking
///         deliveries from the nodes in NODES (comma-separated; default: the local stack's node).
/// @dev `forge script script/Deploy.s.sol:Deploy --rpc-url $RPC_URL --private-key $KEY --broadcast`
contract Deploy is Script {
    /// @notice The Registry of `make up`'s chain (and of Ritual's infernet-anvil).
    address internal constant LOCAL_REGISTRY = 0x663F3ad617193148711d28f5334eE4Ed07016602;

    /// @notice The node of `make up`'s chain (anvil account #1).
    address internal constant LOCAL_NODE = 0x70997970C51812dc3A010C7d01b50e0d17dc79C8;

    /// @notice Entry point for `forge script`.
    function run() external returns (AskModel consumer) {
        address registry = vm.envOr("REGISTRY", LOCAL_REGISTRY);
        address[] memory localNode = new address[](1);
        localNode[0] = LOCAL_NODE;
        address[] memory nodes = vm.envOr("NODES", ",", localNode);
        vm.startBroadcast();
        consumer = new AskModel(registry, nodes);
        vm.stopBroadcast();
        console.log("AskModel:", address(consumer));
    }
}
