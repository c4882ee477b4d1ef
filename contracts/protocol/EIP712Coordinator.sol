// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {ECDSA} from "solady/utils/ECDSA.sol";
import {EIP712} from "solady/utils/EIP712.sol";
import {Coordinator, Subscription} from "./Coordinator.sol";
import {Registry} from "./Registry.sol";
import {Delegator} from "./pattern/Delegator.sol";

/// @title EIP712Coordinator
/// @notice Coordinator that also accepts subscriptions signed off-chain by a consumer's delegated
///         signer (EIP-712 `DelegateSubscription`), so a node can create and deliver in one call.
/// @dev Domain: name "InfernetCoordinator", version "1", chainId, verifyingContract (no salt).
contract EIP712Coordinator is EIP712, Coordinator {
    /*//////////////////////////////////////////////////////////////
                               CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice EIP-712 domain name.
    /// @dev 4-byte signature: `0x3b2fb7a8`
    string public constant EIP712_NAME = "InfernetCoordinator";

    /// @notice EIP-712 domain version.
    /// @dev 4-byte signature: `0xeccec5a8`
    string public constant EIP712_VERSION = "1";

    /// @notice EIP-712 type hash of `Subscription` (fields in struct order).
    /// @dev 0x3da81ed66ee47395e568c52867826ec137777eef9c1bdfb6bf972dd4385bc5a9
    bytes32 private constant EIP712_SUBSCRIPTION_TYPEHASH = keccak256(
        "Subscription(address owner,uint32 activeAt,uint32 period,uint32 frequency,uint16 redundancy,bytes32 containerId,bool lazy,address verifier,uint256 paymentAmount,address paymentToken,address wallet)"
    );

    /// @notice EIP-712 type hash of `DelegateSubscription` (primary type, then the referenced type).
    /// @dev 0xba9ff1aef2b048b42767aade2b901745a3acf14f698a9ec13952098cfd03d0b6
    bytes32 private constant EIP712_DELEGATE_SUBSCRIPTION_TYPEHASH = keccak256(
        "DelegateSubscription(uint32 nonce,uint32 expiry,Subscription sub)Subscription(address owner,uint32 activeAt,uint32 period,uint32 frequency,uint16 redundancy,bytes32 containerId,bool lazy,address verifier,uint256 paymentAmount,address paymentToken,address wallet)"
    );

    /*//////////////////////////////////////////////////////////////
                                MUTABLE
    //////////////////////////////////////////////////////////////*/

    /// @notice Highest nonce used per subscription owner; a hint for off-chain signers only, since
    ///         nonces may be used in any order.
    /// @dev 4-byte signature: `0x7fb61b27`
    mapping(address => uint32) public maxSubscriberNonce;

    /// @notice keccak256(abi.encode(owner, nonce)) => subscription id created with that nonce.
    /// @dev The only replay protection. 4-byte signature: `0x60ed0f61`
    mapping(bytes32 => uint32) public delegateCreatedIds;

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice Thrown by `createSubscriptionDelegatee()` if the recovered signer is not the owner's
    ///         current `getSigner()`.
    /// @dev 4-byte signature: `0x10c74b03`
    error SignerMismatch();

    /// @notice Thrown by `createSubscriptionDelegatee()` if `block.timestamp >= expiry`.
    /// @dev 4-byte signature: `0x0819bdcd`
    error SignatureExpired();

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param registry Registry contract
    constructor(Registry registry) Coordinator(registry) {}

    /*//////////////////////////////////////////////////////////////
                           OVERRIDE FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice EIP-712 domain name and version.
    function _domainNameAndVersion() internal pure override returns (string memory, string memory) {
        return (EIP712_NAME, EIP712_VERSION);
    }

    /// @notice The domain is fixed at deployment, so Solady may cache the separator.
    function _domainNameAndVersionMayChange() internal pure override returns (bool) {
        return false;
    }

    /*//////////////////////////////////////////////////////////////
                                FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Creates a subscription signed by the owner's delegated signer, or returns the id
    ///         already created for (sub.owner, nonce).
    /// @dev The subscription is stored verbatim: `activeAt` and the hashed `containerId` are the
    ///      signer's, and `owner` comes from the signed struct. A used nonce returns its id before any
    ///      expiry or signature check, as upstream. 4-byte signature: `0x9c092514`
    /// @param nonce any unused uint32 (not sequential)
    /// @param expiry signature expiry timestamp
    /// @param sub subscription to create
    /// @param v signature v
    /// @param r signature r
    /// @param s signature s
    /// @return subscription id
    function createSubscriptionDelegatee(
        uint32 nonce,
        uint32 expiry,
        Subscription calldata sub,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) public returns (uint32) {
        // Return the existing id if (owner, nonce) was used already
        bytes32 nonceKey = keccak256(abi.encode(sub.owner, nonce));
        uint32 existingId = delegateCreatedIds[nonceKey];
        if (existingId != 0) {
            return existingId;
        }

        // Revert if the signature has expired
        if (uint32(block.timestamp) >= expiry) {
            revert SignatureExpired();
        }

        // Revert if the signature does not recover to the owner's delegated signer. All Subscription
        // members are static, so abi.encode(TYPEHASH, sub) equals EIP-712 encodeData field by field.
        bytes32 subHash = keccak256(abi.encode(EIP712_SUBSCRIPTION_TYPEHASH, sub));
        bytes32 digest = _hashTypedData(
            keccak256(abi.encode(EIP712_DELEGATE_SUBSCRIPTION_TYPEHASH, nonce, expiry, subHash))
        );
        address recovered = ECDSA.recover(digest, v, r, s);
        if (recovered != Delegator(sub.owner).getSigner()) {
            revert SignerMismatch();
        }

        uint32 subscriptionId = _storeSubscription(sub);
        delegateCreatedIds[nonceKey] = subscriptionId;
        if (nonce > maxSubscriberNonce[sub.owner]) {
            maxSubscriberNonce[sub.owner] = nonce;
        }
        return subscriptionId;
    }

    /// @notice Creates (or finds) a delegated subscription and delivers to it in one transaction.
    /// @dev Only the inner `deliverCompute` holds the reentrancy lock. 4-byte signature: `0x9fff314a`
    function deliverComputeDelegatee(
        uint32 nonce,
        uint32 expiry,
        Subscription calldata sub,
        uint8 v,
        bytes32 r,
        bytes32 s,
        uint32 deliveryInterval,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof,
        address payable nodeWallet
    ) external {
        uint32 subscriptionId = createSubscriptionDelegatee(nonce, expiry, sub, v, r, s);
        deliverCompute(subscriptionId, deliveryInterval, input, output, proof, nodeWallet);
    }
}
