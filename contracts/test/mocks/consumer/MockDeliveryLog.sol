// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

/// @title MockDeliveryLog
/// @notice Records every callback verbatim, keyed [subscriptionId][interval][redundancy].
abstract contract MockDeliveryLog {
    /// @notice One callback as received.
    struct DeliveredOutput {
        uint32 subscriptionId;
        uint32 interval;
        uint16 redundancy;
        address node;
        bytes input;
        bytes output;
        bytes proof;
        bytes32 containerId;
        uint256 index;
    }

    /// @notice subscriptionId => interval => redundancy => delivery.
    mapping(uint32 => mapping(uint32 => mapping(uint16 => DeliveredOutput))) private deliveries;

    /// @notice When true, callbacks revert (to test that a consumer revert undoes the delivery).
    bool public rejectDeliveries;

    /// @notice Thrown by callbacks while `rejectDeliveries` is set.
    error DeliveryRejected();

    /// @notice Makes callbacks revert (or not).
    function setRejectDeliveries(bool reject) external {
        rejectDeliveries = reject;
    }

    /// @notice The delivery recorded at [subscriptionId][interval][redundancy].
    function getDelivery(uint32 subscriptionId, uint32 interval, uint16 redundancy)
        external
        view
        returns (DeliveredOutput memory)
    {
        return deliveries[subscriptionId][interval][redundancy];
    }

    /// @notice Stores a callback.
    function _record(DeliveredOutput memory delivery) internal {
        // Revert if the test asked callbacks to fail
        if (rejectDeliveries) {
            revert DeliveryRejected();
        }
        deliveries[delivery.subscriptionId][delivery.interval][delivery.redundancy] = delivery;
    }
}
