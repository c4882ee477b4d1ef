// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {CallbackConsumer} from "infernet-sdk/consumer/Callback.sol";
import {Allowlist} from "infernet-sdk/pattern/Allowlist.sol";
import {MockDeliveryLog} from "./MockDeliveryLog.sol";

/// @title MockCallbackConsumer
/// @notice CallbackConsumer exposing `_requestCompute` and logging callbacks; when built with a
///         non-empty allowlist, only those nodes may deliver.
contract MockCallbackConsumer is CallbackConsumer, Allowlist, MockDeliveryLog {
    /// @notice Whether the allowlist is enforced.
    bool private immutable RESTRICTED;

    /// @notice When true, the callback tries to deliver again (to test the reentrancy guard).
    bool public reenterOnDelivery;

    constructor(address registry, address[] memory allowedNodes)
        CallbackConsumer(registry)
        Allowlist(allowedNodes)
    {
        RESTRICTED = allowedNodes.length > 0;
    }

    /// @notice Forwards to `_requestCompute`.
    function createMockRequest(
        string calldata containerId,
        bytes calldata inputs,
        uint16 redundancy,
        address paymentToken,
        uint256 paymentAmount,
        address wallet,
        address verifier
    ) external returns (uint32) {
        return _requestCompute(
            containerId, inputs, redundancy, paymentToken, paymentAmount, wallet, verifier
        );
    }

    /// @notice Makes the callback call `deliverCompute` again (or not).
    function setReenterOnDelivery(bool reenter) external {
        reenterOnDelivery = reenter;
    }

    /// @notice Forwards to `_updateAllowlist`.
    function updateMockAllowlist(address[] calldata nodes, bool[] calldata statuses) external {
        _updateAllowlist(nodes, statuses);
    }

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
    ) internal override {
        // Revert if the allowlist is enforced and the node is not on it
        if (RESTRICTED) {
            _checkAllowed(node);
        }
        if (reenterOnDelivery) {
            COORDINATOR.deliverCompute(
                subscriptionId, interval, input, output, proof, payable(address(0))
            );
        }
        _record(
            DeliveredOutput(
                subscriptionId, interval, redundancy, node, input, output, proof, containerId, index
            )
        );
    }

    /// @notice Applies `onlyAllowedNode`.
    function _checkAllowed(address node) private view onlyAllowedNode(node) {}
}
