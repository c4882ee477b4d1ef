// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {Script} from "forge-std/Script.sol";
import {console} from "forge-std/console.sol";
import {HFCallbackConsumer} from "../contracts/src/HFCallbackConsumer.sol";

/// @title RequestCompute
/// @notice Sends one HF inference request to a deployed HFCallbackConsumer; the node's answer then
///         appears as `AnswerReceived(subscriptionId, 1, ...)` and via `getAnswer(subscriptionId, 1)`.
/// @dev Usage: `TASK=4 INPUT="long text" forge script scripts/RequestCompute.s.sol:RequestCompute
///      --rpc-url $RPC_URL --broadcast`. Environment (all optional):
///        PRIVATE_KEY  sender key (default: anvil account #2's well-known test key)
///        CONSUMER     HFCallbackConsumer address (default: 0x13D69Cf7d6CE4218F646B759Dcf334D82c023d8e,
///                     where DeployConsumers puts it on a fresh local stack)
///        TASK         1 text generation (default), 2 text classification, 3 token classification,
///                     4 summarization
///        MODEL        model id (default "": the backend's default model for the task)
///        INPUT        prompt or text (default "Hello, Infernet!")
///        REDUNDANCY   number of nodes that should answer (default 1)
contract RequestCompute is Script {
    /*//////////////////////////////////////////////////////////////
                               CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice anvil account #2's publicly known test key.
    uint256 public constant ANVIL_2_PRIVATE_KEY =
        0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a;

    /// @notice HFCallbackConsumer's address after DeployProtocol + DeployConsumers on a fresh anvil.
    address public constant DEFAULT_CONSUMER = 0x13D69Cf7d6CE4218F646B759Dcf334D82c023d8e;

    /// @notice HFTaskId.TEXT_GENERATION.
    uint256 public constant DEFAULT_TASK = 1;

    /// @notice Largest task id value that fits the uint8 parameter.
    uint256 private constant MAX_UINT8 = type(uint8).max;

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice Thrown if TASK or REDUNDANCY do not fit their parameter types.
    error OutOfRange(string name, uint256 value);

    /*//////////////////////////////////////////////////////////////
                                FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Entry point for `forge script`.
    function run() external returns (uint32 subscriptionId) {
        uint256 task = vm.envOr("TASK", DEFAULT_TASK);
        uint256 redundancy = vm.envOr("REDUNDANCY", uint256(1));
        // Revert if the values would be truncated
        if (task > MAX_UINT8) {
            revert OutOfRange("TASK", task);
        }
        if (redundancy > type(uint16).max) {
            revert OutOfRange("REDUNDANCY", redundancy);
        }
        HFCallbackConsumer consumer = HFCallbackConsumer(vm.envOr("CONSUMER", DEFAULT_CONSUMER));
        string memory model = vm.envOr("MODEL", string(""));
        string memory input = vm.envOr("INPUT", string("Hello, Infernet!"));

        vm.startBroadcast(vm.envOr("PRIVATE_KEY", ANVIL_2_PRIVATE_KEY));
        // casting is safe because both values were range-checked above
        // forge-lint: disable-next-line(unsafe-typecast)
        subscriptionId = consumer.requestCompute(uint8(task), model, input, uint16(redundancy));
        vm.stopBroadcast();

        console.log("Requested subscription id:", subscriptionId);
    }
}
