// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {Script} from "forge-std/Script.sol";
import {console} from "forge-std/console.sol";
import {HFCallbackConsumer} from "../contracts/src/HFCallbackConsumer.sol";
import {HFDelegatedConsumer} from "../contracts/src/HFDelegatedConsumer.sol";
import {HFExampleConsumer} from "../contracts/src/HFExampleConsumer.sol";
import {HFInference} from "../contracts/src/HFInference.sol";
import {HFSubscriptionConsumer} from "../contracts/src/HFSubscriptionConsumer.sol";

/// @title DeployConsumers
/// @notice Deploys the HF consumers against a deployed protocol, in a fixed order: run by anvil #2
///         right after DeployProtocol (nonce 7), HFCallbackConsumer lands at
///         0x13D69Cf7d6CE4218F646B759Dcf334D82c023d8e, the address Ritual's starter scripts call.
/// @dev Usage: `forge script scripts/DeployConsumers.s.sol:DeployConsumers --rpc-url $RPC_URL --broadcast`.
///      Environment (all optional):
///        PRIVATE_KEY   deployer key (default: anvil account #2's well-known test key)
///        REGISTRY      Registry address (default: 0x663F3ad617193148711d28f5334eE4Ed07016602)
///        SIGNER        delegated signer of the callback and delegated consumers (default: anvil #3)
///        CONTAINER_ID  container id string (default: "hf_inference_client_service")
///        NODES         comma-separated nodes the consumers take deliveries from (default: anvil
///                      #1, the local stack's node); everyone else's delivery reverts
contract DeployConsumers is Script {
    /*//////////////////////////////////////////////////////////////
                               CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice anvil account #2's publicly known test key, the infernet-anvil deployer.
    uint256 public constant ANVIL_2_PRIVATE_KEY =
        0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a;

    /// @notice anvil account #1, the node of the local stack and of Ritual's example configs.
    address public constant ANVIL_1 = 0x70997970C51812dc3A010C7d01b50e0d17dc79C8;

    /// @notice anvil account #3, the delegated signer in Ritual's test tooling.
    address public constant ANVIL_3 = 0x90F79bf6EB2c4f870365E785982E1f101E93b906;

    /// @notice The Registry's address on infernet-anvil and on our local stack.
    address public constant DEFAULT_REGISTRY = 0x663F3ad617193148711d28f5334eE4Ed07016602;

    /*//////////////////////////////////////////////////////////////
                             PUBLIC STRUCTS
    //////////////////////////////////////////////////////////////*/

    /// @notice The deployed consumers.
    struct Consumers {
        /// @notice Callback flow (deployer nonce + 0)
        HFCallbackConsumer callback;
        /// @notice Direct subscription flow (nonce + 1)
        HFSubscriptionConsumer subscription;
        /// @notice Delegated subscription flow (nonce + 2)
        HFDelegatedConsumer delegated;
        /// @notice Docs-style example (nonce + 3)
        HFExampleConsumer example;
    }

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice Thrown if REGISTRY has no code (protocol not deployed on this chain).
    error RegistryNotDeployed(address registry);

    /// @notice Thrown if NODES is empty: the consumers would refuse every delivery.
    error NoNodes();

    /*//////////////////////////////////////////////////////////////
                                FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Entry point for `forge script`: reads the environment, then deploys.
    function run() external returns (Consumers memory) {
        address[] memory localNode = new address[](1);
        localNode[0] = ANVIL_1;
        return deploy(
            vm.envOr("PRIVATE_KEY", ANVIL_2_PRIVATE_KEY),
            vm.envOr("REGISTRY", DEFAULT_REGISTRY),
            vm.envOr("SIGNER", ANVIL_3),
            vm.envOr("CONTAINER_ID", string(HFInference.DEFAULT_CONTAINER_ID)),
            vm.envOr("NODES", ",", localNode)
        );
    }

    /// @notice Deploys the four consumers from `deployerKey`, each taking deliveries from `nodes`.
    function deploy(
        uint256 deployerKey,
        address registry,
        address signer,
        string memory containerId,
        address[] memory nodes
    ) public returns (Consumers memory consumers) {
        // Revert if the protocol is not deployed at `registry`
        if (registry.code.length == 0) {
            revert RegistryNotDeployed(registry);
        }
        // Revert if no node could deliver to the consumers
        if (nodes.length == 0) {
            revert NoNodes();
        }

        vm.startBroadcast(deployerKey);
        // From artifacts (plain CREATE) so this script does not re-optimise every consumer under via_ir
        consumers.callback = HFCallbackConsumer(
            vm.deployCode(
                "HFCallbackConsumer.sol:HFCallbackConsumer",
                abi.encode(registry, containerId, signer, nodes)
            )
        );
        consumers.subscription = HFSubscriptionConsumer(
            vm.deployCode(
                "HFSubscriptionConsumer.sol:HFSubscriptionConsumer",
                abi.encode(registry, containerId, nodes)
            )
        );
        consumers.delegated = HFDelegatedConsumer(
            vm.deployCode(
                "HFDelegatedConsumer.sol:HFDelegatedConsumer", abi.encode(registry, signer, nodes)
            )
        );
        consumers.example = HFExampleConsumer(
            vm.deployCode("HFExampleConsumer.sol:HFExampleConsumer", abi.encode(registry, nodes))
        );
        vm.stopBroadcast();

        console.log("HFCallbackConsumer:    ", address(consumers.callback));
        console.log("HFSubscriptionConsumer:", address(consumers.subscription));
        console.log("HFDelegatedConsumer:   ", address(consumers.delegated));
        console.log("HFExampleConsumer:     ", address(consumers.example));
    }
}
