// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {Subscription} from "infernet-sdk/Coordinator.sol";

/// @title LibSign
/// @notice Builds the EIP-712 digest of a DelegateSubscription by hand (no Solady), field by field,
///         from infernet-sdk v1.1.0's type strings (src/EIP712Coordinator.sol), so tests check the
///         Coordinator against an independent implementation. It is the digest a delegated signer
///         signs and the node checks against the owner's `getSigner()`.
library LibSign {
    /// @notice EIP-712 domain type hash (0x8b73c3c6...400f).
    bytes32 internal constant DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    );

    /// @notice Subscription type hash (0x3da81ed6...c5a9).
    bytes32 internal constant SUBSCRIPTION_TYPEHASH = keccak256(
        "Subscription(address owner,uint32 activeAt,uint32 period,uint32 frequency,uint16 redundancy,bytes32 containerId,bool lazy,address verifier,uint256 paymentAmount,address paymentToken,address wallet)"
    );

    /// @notice DelegateSubscription type hash (0xba9ff1ae...d0b6).
    bytes32 internal constant DELEGATE_SUBSCRIPTION_TYPEHASH = keccak256(
        "DelegateSubscription(uint32 nonce,uint32 expiry,Subscription sub)Subscription(address owner,uint32 activeAt,uint32 period,uint32 frequency,uint16 redundancy,bytes32 containerId,bool lazy,address verifier,uint256 paymentAmount,address paymentToken,address wallet)"
    );

    /// @notice Domain separator ("InfernetCoordinator", "1") of the Coordinator at `coordinator` on
    ///         the current chain.
    /// @param coordinator the EIP712Coordinator's address
    function domainSeparator(address coordinator) internal view returns (bytes32) {
        return keccak256(
            abi.encode(
                DOMAIN_TYPEHASH,
                keccak256("InfernetCoordinator"),
                keccak256("1"),
                block.chainid,
                coordinator
            )
        );
    }

    /// @notice hashStruct(Subscription).
    /// @param sub the subscription to sign
    function subscriptionHash(Subscription memory sub) internal pure returns (bytes32) {
        bytes memory head = abi.encode(
            SUBSCRIPTION_TYPEHASH,
            sub.owner,
            sub.activeAt,
            sub.period,
            sub.frequency,
            sub.redundancy,
            sub.containerId
        );
        bytes memory tail =
            abi.encode(sub.lazy, sub.verifier, sub.paymentAmount, sub.paymentToken, sub.wallet);
        return keccak256(bytes.concat(head, tail));
    }

    /// @notice hashStruct(DelegateSubscription).
    /// @param nonce the signer's nonce for this subscription
    /// @param expiry timestamp after which the signature is refused
    /// @param sub the subscription to sign
    function delegateSubscriptionHash(uint32 nonce, uint32 expiry, Subscription memory sub)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(
            abi.encode(DELEGATE_SUBSCRIPTION_TYPEHASH, nonce, expiry, subscriptionHash(sub))
        );
    }

    /// @notice The digest a delegated signer signs (sign it with `vm.sign`).
    /// @param coordinator the EIP712Coordinator's address
    /// @param nonce the signer's nonce for this subscription
    /// @param expiry timestamp after which the signature is refused
    /// @param sub the subscription to sign
    function digest(address coordinator, uint32 nonce, uint32 expiry, Subscription memory sub)
        internal
        view
        returns (bytes32)
    {
        return keccak256(
            abi.encodePacked(
                "\x19\x01",
                domainSeparator(coordinator),
                delegateSubscriptionHash(nonce, expiry, sub)
            )
        );
    }
}
