// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {Coordinator} from "infernet-sdk/Coordinator.sol";
import {IVerifier} from "infernet-sdk/payments/IVerifier.sol";

/// @title MockVerifier
/// @notice Verifier with configurable fees; it is its own fee wallet (as upstream's mocks).
abstract contract MockVerifier is IVerifier {
    /// @notice Coordinator that requests and settles verifications.
    Coordinator internal immutable COORDINATOR;

    /// @notice token => supported.
    mapping(address => bool) private supported;

    /// @notice token => fee.
    mapping(address => uint256) private fees;

    /// @notice Thrown if someone other than the Coordinator requests a verification.
    error NotCoordinator();

    constructor(Coordinator coordinator) {
        COORDINATOR = coordinator;
    }

    /// @notice Accepts `token` at `amount` per verification.
    function setFee(address token, uint256 amount) external {
        supported[token] = true;
        fees[token] = amount;
    }

    function getWallet() external view returns (address) {
        return address(this);
    }

    function isSupportedToken(address token) external view returns (bool) {
        return supported[token];
    }

    function fee(address token) external view returns (uint256) {
        return fees[token];
    }

    function requestProofVerification(
        uint32 subscriptionId,
        uint32 interval,
        address node,
        bytes calldata proof
    ) external {
        // Revert if not called by the Coordinator
        if (msg.sender != address(COORDINATOR)) {
            revert NotCoordinator();
        }
        _onRequest(subscriptionId, interval, node, proof);
    }

    receive() external payable {}

    /// @notice Handles a verification request.
    function _onRequest(uint32 subscriptionId, uint32 interval, address node, bytes calldata proof)
        internal
        virtual;
}

/// @title MockAtomicVerifier
/// @notice Settles inside the request: the proof is valid iff it equals VALID_PROOF.
contract MockAtomicVerifier is MockVerifier {
    /// @notice The one proof this verifier accepts.
    bytes32 public constant VALID_PROOF = keccak256("valid");

    constructor(Coordinator coordinator) MockVerifier(coordinator) {}

    function _onRequest(uint32 subscriptionId, uint32 interval, address node, bytes calldata proof)
        internal
        override
    {
        COORDINATOR.finalizeProofVerification(
            subscriptionId, interval, node, keccak256(proof) == VALID_PROOF
        );
    }
}

/// @title MockOptimisticVerifier
/// @notice Records requests; the test settles them later with `mockDeliverProof`.
contract MockOptimisticVerifier is MockVerifier {
    /// @notice Number of requests received.
    uint256 public requests;

    constructor(Coordinator coordinator) MockVerifier(coordinator) {}

    function _onRequest(uint32, uint32, address, bytes calldata) internal override {
        requests += 1;
    }

    /// @notice Settles a pending request with verdict `valid`.
    function mockDeliverProof(uint32 subscriptionId, uint32 interval, address node, bool valid)
        external
    {
        COORDINATOR.finalizeProofVerification(subscriptionId, interval, node, valid);
    }
}
