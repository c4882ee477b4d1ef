// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {ReentrancyGuard} from "solady/utils/ReentrancyGuard.sol";
import {BaseConsumer} from "./consumer/Base.sol";
import {Inbox} from "./Inbox.sol";
import {Registry} from "./Registry.sol";
import {Fee} from "./payments/Fee.sol";
import {IVerifier} from "./payments/IVerifier.sol";
import {Wallet} from "./payments/Wallet.sol";
import {WalletFactory} from "./payments/WalletFactory.sol";

/*//////////////////////////////////////////////////////////////
                            PUBLIC STRUCTS
//////////////////////////////////////////////////////////////*/

/// @notice A request for (possibly recurring) compute, and how it is paid.
/// @dev Field order is the ABI: `(address,uint32,uint32,uint32,uint16,bytes32,bool,address,uint256,
///      address,address)`; all members are static, so the tuple is encoded in place. Storage: slot 0
///      owner|activeAt|period|frequency, slot 1 redundancy, slot 2 containerId, slot 3
///      lazy|verifier, slots 4-6 paymentAmount, paymentToken, wallet.
struct Subscription {
    /// @notice Creator and callback recipient; must implement `rawReceiveCompute`.
    address owner;
    /// @notice First timestamp at which deliveries are accepted; type(uint32).max once cancelled.
    /// @dev uint32 seconds last until 2106 and pack with owner.
    uint32 activeAt;
    /// @notice Seconds per interval; 0 means one-shot (always interval 1).
    uint32 period;
    /// @notice Maximum number of intervals; 1 means a one-time request.
    uint32 frequency;
    /// @notice Number of distinct nodes that may answer each interval.
    /// @dev uint16 allows more than 255 nodes and fewer than 65,536.
    uint16 redundancy;
    /// @notice keccak256(abi.encode(containerIdString)), comma-joined for a container DAG.
    bytes32 containerId;
    /// @notice If true, outputs are stored in the Inbox and the callback gets a pointer.
    bool lazy;
    /// @notice Optional IVerifier; address(0) means no proof verification.
    address payable verifier;
    /// @notice Payment per delivery in `paymentToken`; 0 means unpaid.
    uint256 paymentAmount;
    /// @notice Payment token; address(0) means ETH.
    address paymentToken;
    /// @notice Consumer Wallet that pays; `owner` must be an approved spender on it.
    address payable wallet;
}

/// @notice Escrow state of one proof-carrying delivery awaiting verification.
struct ProofRequest {
    /// @notice Time after which anyone may settle in the node's favour.
    uint32 expiry;
    /// @notice Node wallet whose slashable stake is locked.
    Wallet nodeWallet;
    /// @notice Amount locked in the consumer wallet for the node.
    uint256 consumerEscrowed;
}

/// @title Coordinator
/// @notice Stores compute subscriptions, accepts node deliveries under the protocol rules (timing,
///         redundancy, one answer per node and interval), settles payments and proofs, and calls
///         the consumer back.
contract Coordinator is ReentrancyGuard {
    /*//////////////////////////////////////////////////////////////
                               CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Basis-point denominator of the protocol fee (10_000 = 100.00%).
    uint256 private constant FEE_DENOMINATOR = 10_000;

    /// @notice How long a verifier has to settle a proof before anyone may pay the node.
    uint32 private constant PROOF_WINDOW = 1 weeks;

    /*//////////////////////////////////////////////////////////////
                               IMMUTABLE
    //////////////////////////////////////////////////////////////*/

    /// @notice Fee contract (read on every paid delivery).
    Fee private immutable FEE;

    /// @notice Inbox for lazy outputs.
    Inbox private immutable INBOX;

    /// @notice WalletFactory that vouches for payment wallets.
    WalletFactory private immutable WALLET_FACTORY;

    /*//////////////////////////////////////////////////////////////
                                MUTABLE
    //////////////////////////////////////////////////////////////*/

    /// @notice Next subscription id to assign; ids start at 1, so `id - 1` is the newest.
    /// @dev 4-byte signature: `0xaf640d0f`
    uint32 public id = 1;

    /// @notice keccak256(abi.encode(subscriptionId, interval, node)) => node delivered already.
    /// @dev 4-byte signature: `0x298f7bdc`
    mapping(bytes32 => bool) public nodeResponded;

    /// @notice keccak256(abi.encode(subscriptionId, interval)) => deliveries so far.
    /// @dev 4-byte signature: `0xbc85694f`
    mapping(bytes32 => uint16) public redundancyCount;

    /// @notice keccak256(abi.encode(subscriptionId, interval, node)) => pending proof escrow.
    /// @dev 4-byte signature: `0xc34cf5c7`
    mapping(bytes32 => ProofRequest) public proofRequests;

    /// @notice Subscription id => subscription (read through `getSubscription`).
    mapping(uint32 => Subscription) internal subscriptions;

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Emitted when a subscription is created.
    event SubscriptionCreated(uint32 indexed id);

    /// @notice Emitted when a subscription is cancelled.
    event SubscriptionCancelled(uint32 indexed id);

    /// @notice Emitted when `node` delivers to subscription `id`.
    event SubscriptionFulfilled(uint32 indexed id, address indexed node);

    /// @notice Emitted when a proof escrow is settled.
    /// @dev `active` is false when settled after expiry; `verifier` is the settling caller.
    event ProofVerified(
        uint32 indexed id,
        uint32 indexed interval,
        address indexed node,
        bool active,
        address verifier,
        bool valid
    );

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice Thrown by `deliverCompute()` if a paid delivery names a node or consumer wallet the
    ///         WalletFactory did not create.
    /// @dev 4-byte signature: `0x23455ba1`
    error InvalidWallet();

    /// @notice Thrown by `deliverCompute()` if `deliveryInterval` is not the current interval.
    ///         E.g. delivering interval 1 during interval 2.
    /// @dev 4-byte signature: `0x4db310c3`
    error IntervalMismatch();

    /// @notice Thrown by `deliverCompute()` if the interval already has `redundancy` deliveries.
    /// @dev 4-byte signature: `0x2f4ca85b`
    error IntervalCompleted();

    /// @notice Thrown by `finalizeProofVerification()` if, before expiry, the caller is not the
    ///         subscription's verifier.
    /// @dev 4-byte signature: `0xb9857aa1`
    error UnauthorizedVerifier();

    /// @notice Thrown by `deliverCompute()` if this node already delivered this interval.
    /// @dev 4-byte signature: `0x88a21e4f`
    error NodeRespondedAlready();

    /// @notice Thrown by `deliverCompute()` if the subscription does not exist.
    /// @dev 4-byte signature: `0x1a00354f`
    error SubscriptionNotFound();

    /// @notice Thrown by `finalizeProofVerification()` if no escrow is pending for the key.
    /// @dev 4-byte signature: `0x1d68b37c`
    error ProofRequestNotFound();

    /// @notice Thrown by `cancelSubscription()` if the caller does not own the subscription.
    /// @dev 4-byte signature: `0xa7fba711`
    error NotSubscriptionOwner();

    /// @notice Thrown by `deliverCompute()` if the current interval is past `frequency`.
    ///         E.g. delivering interval 2 of a one-time request.
    /// @dev 4-byte signature: `0xae6704a7`
    error SubscriptionCompleted();

    /// @notice Thrown by `deliverCompute()` before `activeAt`, and for cancelled subscriptions.
    /// @dev 4-byte signature: `0xefb74efe`
    error SubscriptionNotActive();

    /// @notice Thrown by `deliverCompute()` if the verifier does not accept the payment token.
    /// @dev 4-byte signature: `0xe2372799`
    error UnsupportedVerifierToken();

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @notice Reads the Fee, Inbox and WalletFactory addresses from the Registry.
    /// @param registry Registry contract
    constructor(Registry registry) {
        FEE = Fee(registry.FEE());
        INBOX = Inbox(registry.INBOX());
        WALLET_FACTORY = WalletFactory(registry.WALLET_FACTORY());
    }

    /*//////////////////////////////////////////////////////////////
                           INTERNAL FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Stores `subscription` under the next id and announces it.
    /// @return subscriptionId the new id
    function _storeSubscription(Subscription memory subscription)
        internal
        returns (uint32 subscriptionId)
    {
        subscriptionId = id;
        // Ids are uint32: 4 billion subscriptions before wrap-around, as upstream.
        unchecked {
            id = subscriptionId + 1;
        }
        subscriptions[subscriptionId] = subscription;
        emit SubscriptionCreated(subscriptionId);
    }

    /// @notice Applies the delivery rules in their fixed order (nodes decode these errors), then
    ///         counts the delivery and marks the node as having responded.
    /// @dev The redundancy count is incremented before the duplicate-node check, as upstream;
    ///      a revert undoes both.
    /// @return subscription the subscription
    /// @return interval the current interval (== deliveryInterval)
    /// @return deliveries deliveries in this interval, this one included
    /// @return nodeKey keccak256(abi.encode(subscriptionId, interval, msg.sender))
    function _acceptDelivery(uint32 subscriptionId, uint32 deliveryInterval)
        internal
        returns (
            Subscription memory subscription,
            uint32 interval,
            uint16 deliveries,
            bytes32 nodeKey
        )
    {
        subscription = subscriptions[subscriptionId];

        // Revert if the subscription does not exist
        if (subscription.owner == address(0)) {
            revert SubscriptionNotFound();
        }

        // Revert if the subscription is not active yet (or was cancelled)
        if (uint32(block.timestamp) < subscription.activeAt) {
            revert SubscriptionNotActive();
        }

        // Revert if the node is not delivering for the current interval
        interval = getSubscriptionInterval(subscription.activeAt, subscription.period);
        if (interval != deliveryInterval) {
            revert IntervalMismatch();
        }

        // Revert if the subscription has run all its intervals
        if (interval > subscription.frequency) {
            revert SubscriptionCompleted();
        }

        // Revert if the interval already has all its deliveries
        bytes32 intervalKey = keccak256(abi.encode(subscriptionId, interval));
        deliveries = redundancyCount[intervalKey];
        if (deliveries == subscription.redundancy) {
            revert IntervalCompleted();
        }
        deliveries += 1;
        redundancyCount[intervalKey] = deliveries;

        // Revert if this node already delivered this interval
        nodeKey = keccak256(abi.encode(subscriptionId, interval, msg.sender));
        if (nodeResponded[nodeKey]) {
            revert NodeRespondedAlready();
        }
        nodeResponded[nodeKey] = true;
    }

    /// @notice Stores a lazy output in the Inbox under (containerId, msg.sender).
    /// @return index of the Inbox item
    function _writeInbox(
        bytes32 containerId,
        uint32 subscriptionId,
        uint32 interval,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof
    ) internal returns (uint256) {
        return INBOX.writeViaCoordinator(
            containerId, msg.sender, subscriptionId, interval, input, output, proof
        );
    }

    /// @notice Calls the consumer back with the delivery (memory arguments, so the lazy path can
    ///         pass empty bytes in place of the stored input, output and proof).
    function _callConsumer(
        address owner,
        uint32 subscriptionId,
        uint32 interval,
        uint16 deliveries,
        bytes memory input,
        bytes memory output,
        bytes memory proof,
        bytes32 containerId,
        uint256 index
    ) internal {
        BaseConsumer(owner)
            .rawReceiveCompute(
                subscriptionId,
                interval,
                deliveries,
                msg.sender,
                input,
                output,
                proof,
                containerId,
                index
            );
    }

    /// @notice Charges a paid delivery: protocol fee, then either the node's payment or, with a
    ///         verifier, the verifier fee plus both escrows and the verification request.
    /// @dev The protocol takes `fee` twice on the gross amount (once per side), and `fee` of the
    ///      verifier fee, as upstream. The verification request goes out before the consumer
    ///      callback, so an atomic verifier settles first.
    function _processPayment(
        uint32 subscriptionId,
        uint32 interval,
        Subscription memory subscription,
        address payable nodeWallet,
        bytes calldata proof,
        bytes32 nodeKey
    ) internal {
        // Revert if either wallet was not created by the WalletFactory
        if (
            !WALLET_FACTORY.isValidWallet(nodeWallet)
                || !WALLET_FACTORY.isValidWallet(subscription.wallet)
        ) {
            revert InvalidWallet();
        }

        uint16 fee = FEE.FEE();
        address recipient = FEE.FEE_RECIPIENT();
        uint256 protocolCut = subscription.paymentAmount * (2 * fee) / FEE_DENOMINATOR;
        Wallet(subscription.wallet)
            .cTransfer(subscription.owner, subscription.paymentToken, recipient, protocolCut);
        uint256 available = subscription.paymentAmount - protocolCut;

        if (subscription.verifier == address(0)) {
            Wallet(subscription.wallet)
                .cTransfer(subscription.owner, subscription.paymentToken, nodeWallet, available);
            return;
        }

        available -= _payVerifier(subscription, fee, recipient);
        _lockEscrows(subscription, nodeWallet, available, nodeKey);
        IVerifier(subscription.verifier)
            .requestProofVerification(subscriptionId, interval, msg.sender, proof);
    }

    /// @notice Pays the verifier fee from the consumer wallet, `fee` of it to the protocol.
    /// @return verifierFee the verifier's fee in the payment token
    function _payVerifier(Subscription memory subscription, uint16 fee, address recipient)
        internal
        returns (uint256 verifierFee)
    {
        IVerifier verifier = IVerifier(subscription.verifier);
        // Revert if the verifier does not accept the payment token
        if (!verifier.isSupportedToken(subscription.paymentToken)) {
            revert UnsupportedVerifierToken();
        }
        verifierFee = verifier.fee(subscription.paymentToken);
        uint256 verifierProtocolCut = verifierFee * fee / FEE_DENOMINATOR;
        Wallet consumerWallet = Wallet(subscription.wallet);
        consumerWallet.cTransfer(
            subscription.owner, subscription.paymentToken, recipient, verifierProtocolCut
        );
        consumerWallet.cTransfer(
            subscription.owner,
            subscription.paymentToken,
            verifier.getWallet(),
            verifierFee - verifierProtocolCut
        );
    }

    /// @notice Locks the node's slashable stake (the full payment, from its own allowance) and the
    ///         consumer's `consumerEscrowed`, and records the pending proof request.
    function _lockEscrows(
        Subscription memory subscription,
        address payable nodeWallet,
        uint256 consumerEscrowed,
        bytes32 nodeKey
    ) internal {
        Wallet(nodeWallet).cLock(msg.sender, subscription.paymentToken, subscription.paymentAmount);
        Wallet(subscription.wallet)
            .cLock(subscription.owner, subscription.paymentToken, consumerEscrowed);
        proofRequests[nodeKey] = ProofRequest({
            expiry: uint32(block.timestamp) + PROOF_WINDOW,
            nodeWallet: Wallet(nodeWallet),
            consumerEscrowed: consumerEscrowed
        });
    }

    /*//////////////////////////////////////////////////////////////
                                FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Returns a subscription; an all-zero struct for unknown ids.
    /// @dev 4-byte signature: `0xa17b920b`
    function getSubscription(uint32 subscriptionId) external view returns (Subscription memory) {
        return subscriptions[subscriptionId];
    }

    /// @notice Creates a subscription owned by the caller, active one `period` from now.
    /// @dev No validation, as upstream: frequency 0 or redundancy 0 simply never deliver.
    ///      4-byte signature: `0x84050893`
    /// @param containerId container id string (hashed with abi.encode before storage)
    /// @param frequency maximum number of intervals
    /// @param period seconds per interval (0 = one-shot)
    /// @param redundancy nodes per interval
    /// @param lazy store outputs in the Inbox
    /// @param paymentToken payment token (address(0) = ETH)
    /// @param paymentAmount payment per delivery (0 = unpaid)
    /// @param wallet consumer Wallet
    /// @param verifier optional IVerifier
    /// @return subscription id
    function createSubscription(
        string memory containerId,
        uint32 frequency,
        uint32 period,
        uint16 redundancy,
        bool lazy,
        address paymentToken,
        uint256 paymentAmount,
        address wallet,
        address verifier
    ) external returns (uint32) {
        return _storeSubscription(
            Subscription({
                owner: msg.sender,
                activeAt: uint32(block.timestamp) + period,
                period: period,
                frequency: frequency,
                redundancy: redundancy,
                containerId: keccak256(abi.encode(containerId)),
                lazy: lazy,
                verifier: payable(verifier),
                paymentAmount: paymentAmount,
                paymentToken: paymentToken,
                wallet: payable(wallet)
            })
        );
    }

    /// @notice Cancels a subscription by moving `activeAt` to the end of time.
    /// @dev The struct is kept (not deleted) so pending proof settlements can still read its
    ///      payment fields. Cancelling twice is allowed. 4-byte signature: `0x31e451a9`
    function cancelSubscription(uint32 subscriptionId) external {
        // Revert if the caller does not own the subscription (unknown ids have owner 0)
        if (subscriptions[subscriptionId].owner != msg.sender) {
            revert NotSubscriptionOwner();
        }
        subscriptions[subscriptionId].activeAt = type(uint32).max;
        emit SubscriptionCancelled(subscriptionId);
    }

    /// @notice Interval number at the current block time: 1 for one-shot subscriptions, else
    ///         interval k covers [activeAt + (k-1)*period, activeAt + k*period).
    /// @dev Unchecked as upstream: meaningless before `activeAt` (deliverCompute checks that
    ///      first). 4-byte signature: `0x836a6cc9`
    function getSubscriptionInterval(uint32 activeAt, uint32 period) public view returns (uint32) {
        if (period == 0) {
            return 1;
        }
        unchecked {
            return ((uint32(block.timestamp) - activeAt) / period) + 1;
        }
    }

    /// @notice Delivers a node's output for the current interval, settles payment, and calls the
    ///         consumer back (with the output, or with an Inbox pointer if lazy).
    /// @dev Checks in `_acceptDelivery`; payment before the callback; the consumer's revert undoes
    ///      everything. 4-byte signature: `0xc509543d`
    /// @param subscriptionId subscription id
    /// @param deliveryInterval interval the node computed for
    /// @param input container input
    /// @param output container output
    /// @param proof container proof
    /// @param nodeWallet node's Wallet (ignored when the subscription is unpaid)
    function deliverCompute(
        uint32 subscriptionId,
        uint32 deliveryInterval,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof,
        address payable nodeWallet
    ) public nonReentrant {
        (Subscription memory subscription, uint32 interval, uint16 deliveries, bytes32 nodeKey) =
            _acceptDelivery(subscriptionId, deliveryInterval);

        if (subscription.paymentAmount > 0) {
            _processPayment(subscriptionId, interval, subscription, nodeWallet, proof, nodeKey);
        }

        if (subscription.lazy) {
            uint256 index = _writeInbox(
                subscription.containerId, subscriptionId, interval, input, output, proof
            );
            _callConsumer(
                subscription.owner,
                subscriptionId,
                interval,
                deliveries,
                "",
                "",
                "",
                subscription.containerId,
                index
            );
        } else {
            _callConsumer(
                subscription.owner,
                subscriptionId,
                interval,
                deliveries,
                input,
                output,
                proof,
                bytes32(0), // eager: no Inbox containerId
                0 // eager: no Inbox index
            );
        }

        emit SubscriptionFulfilled(subscriptionId, msg.sender);
    }

    /// @notice Settles a proof escrow: before expiry only the subscription's verifier may call, and
    ///         a valid proof pays the node while an invalid one slashes the node's stake to the
    ///         consumer wallet; after expiry anyone may call and the node is paid.
    /// @dev Not reentrancy-guarded so atomic verifiers can call it from `requestProofVerification`.
    ///      The request is deleted before any external call (CEI). 4-byte signature: `0x196ab123`
    function finalizeProofVerification(
        uint32 subscriptionId,
        uint32 interval,
        address node,
        bool valid
    ) external {
        bytes32 nodeKey = keccak256(abi.encode(subscriptionId, interval, node));
        ProofRequest memory request = proofRequests[nodeKey];
        delete proofRequests[nodeKey];

        // Revert if no escrow is pending for (subscriptionId, interval, node)
        if (request.expiry == 0) {
            revert ProofRequestNotFound();
        }

        // May have been cancelled since; payment fields are kept on cancel
        Subscription memory subscription = subscriptions[subscriptionId];
        Wallet consumerWallet = Wallet(subscription.wallet);
        address token = subscription.paymentToken;

        // Unlocking re-credits each spender's allowance, from which the transfers below draw
        request.nodeWallet.cUnlock(node, token, subscription.paymentAmount);
        consumerWallet.cUnlock(subscription.owner, token, request.consumerEscrowed);

        bool active = uint32(block.timestamp) < request.expiry;
        if (active) {
            // Revert if the caller is not the subscription's verifier
            if (msg.sender != subscription.verifier) {
                revert UnauthorizedVerifier();
            }
            if (valid) {
                consumerWallet.cTransfer(
                    subscription.owner, token, address(request.nodeWallet), request.consumerEscrowed
                );
            } else {
                request.nodeWallet
                    .cTransfer(node, token, subscription.wallet, subscription.paymentAmount);
            }
        } else {
            consumerWallet.cTransfer(
                subscription.owner, token, address(request.nodeWallet), request.consumerEscrowed
            );
        }

        emit ProofVerified(subscriptionId, interval, node, active, msg.sender, valid);
    }
}
