// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {Test} from "forge-std/Test.sol";
import {Subscription} from "infernet-sdk/Coordinator.sol";
import {EIP712Coordinator} from "infernet-sdk/EIP712Coordinator.sol";
import {Inbox} from "infernet-sdk/Inbox.sol";
import {Registry} from "infernet-sdk/Registry.sol";
import {BaseConsumer} from "infernet-sdk/consumer/Base.sol";
import {Fee} from "infernet-sdk/payments/Fee.sol";
import {Wallet} from "infernet-sdk/payments/Wallet.sol";
import {WalletFactory} from "infernet-sdk/payments/WalletFactory.sol";
import {Reader} from "infernet-sdk/utility/Reader.sol";
import {HFOutput} from "./HFOutput.sol";
import {LibDeploy} from "./LibDeploy.sol";
import {LibSign} from "./LibSign.sol";

/// @title InfernetTest
/// @notice Base for a consumer's forge tests: `setUp` deploys the Infernet protocol inside the test
///         at infernet-anvil's addresses (Registry 0x663F3ad617193148711d28f5334eE4Ed07016602, so a
///         consumer built for the local stack works unchanged), and registers and funds a node
///         (`NODE`, anvil account #1, with its payment Wallet `NODE_WALLET`). The `deliver...`
///         functions then do what a node does: read the consumer's input, deliver an output built
///         with HFOutput for the current interval, pay and escrow where the subscription says so.
/// @dev Inherit, call `super.setUp()` first if you override `setUp`, then deploy your consumer with
///      `address(REGISTRY)`. Nodes have no on-chain registration in Infernet: "registering" one
///      means giving it ETH for gas and a payment Wallet from the WalletFactory, as a node operator
///      does. Deliveries are sent with `vm.prank(node)`, so `msg.sender` is the node.
abstract contract InfernetTest is Test {
    /*//////////////////////////////////////////////////////////////
                               CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice anvil account #2, infernet-anvil's protocol deployer (protocol at its nonces 0..5).
    address internal constant ANVIL_DEPLOYER = 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC;

    /// @notice anvil account #1, the node in Ritual's example configs and in `make up`.
    address internal constant ANVIL_NODE = 0x70997970C51812dc3A010C7d01b50e0d17dc79C8;

    /// @notice The HF service's container id in the node's config.json.
    string internal constant HF_CONTAINER_ID = "hf_inference_client_service";

    /// @notice ETH every node gets for gas, and its payment Wallet for escrow stakes.
    uint256 internal constant NODE_FUNDS = 100 ether;

    /// @notice Lifetime of the signatures `deliverDelegated` makes.
    uint32 internal constant SIGNATURE_LIFETIME = 1 hours;

    /// @notice Interval returned by `currentInterval` before a subscription is active.
    uint32 internal constant NOT_ACTIVE = 0;

    /*//////////////////////////////////////////////////////////////
                                MUTABLE
    //////////////////////////////////////////////////////////////*/

    /// @notice The protocol's Registry; pass `address(REGISTRY)` to your consumer's constructor.
    Registry internal REGISTRY;

    /// @notice The EIP712Coordinator nodes deliver to.
    EIP712Coordinator internal COORDINATOR;

    /// @notice The Inbox lazy subscriptions write to.
    Inbox internal INBOX;

    /// @notice The Reader nodes sync with.
    Reader internal READER;

    /// @notice The protocol fee contract (fee from `_protocolFee`).
    Fee internal FEE;

    /// @notice The factory of payment Wallets.
    WalletFactory internal WALLET_FACTORY;

    /// @notice The default node (anvil account #1).
    address internal NODE;

    /// @notice The default node's payment Wallet (infernet-anvil's 0x60985ee8...4335C).
    address payable internal NODE_WALLET;

    /// @notice Node => its payment Wallet, for every node `setUp` or `addNode` registered.
    mapping(address => address payable) internal nodeWallets;

    /// @notice Every node `setUp` or `addNode` registered, in that order.
    address[] private nodes;

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice Thrown by the deliver functions for a node that `addNode` did not register.
    error UnknownNode(address node);

    /// @notice Thrown by `warpToInterval` for interval 0 or beyond a one-shot subscription.
    error NoSuchInterval(uint32 subscriptionId, uint32 interval);

    /*//////////////////////////////////////////////////////////////
                                 SETUP
    //////////////////////////////////////////////////////////////*/

    /// @notice Deploys the protocol as infernet-anvil's deployer and registers `NODE`.
    function setUp() public virtual {
        vm.startPrank(ANVIL_DEPLOYER);
        LibDeploy.Protocol memory protocol = LibDeploy.deployContracts(
            ANVIL_DEPLOYER, vm.getNonce(ANVIL_DEPLOYER), ANVIL_DEPLOYER, _protocolFee()
        );
        vm.stopPrank();
        REGISTRY = protocol.registry;
        COORDINATOR = protocol.coordinator;
        INBOX = protocol.inbox;
        READER = protocol.reader;
        FEE = protocol.fee;
        WALLET_FACTORY = protocol.walletFactory;
        vm.label(address(REGISTRY), "Registry");
        vm.label(address(COORDINATOR), "Coordinator");
        vm.label(address(INBOX), "Inbox");
        vm.label(address(READER), "Reader");
        vm.label(address(FEE), "Fee");
        vm.label(address(WALLET_FACTORY), "WalletFactory");
        NODE = _registerNode(ANVIL_NODE, "node");
        NODE_WALLET = nodeWallets[NODE];
    }

    /// @notice The protocol fee in basis points (0, as infernet-anvil); override to test fees.
    function _protocolFee() internal view virtual returns (uint16) {
        return 0;
    }

    /*//////////////////////////////////////////////////////////////
                                 NODES
    //////////////////////////////////////////////////////////////*/

    /// @notice Registers another node (e.g. for redundancy): an address named `name`, funded with
    ///         NODE_FUNDS, with a funded payment Wallet it owns.
    /// @param name label of the node in traces
    /// @return node the node's address
    function addNode(string memory name) internal returns (address node) {
        return _registerNode(makeAddr(name), name);
    }

    /// @notice The nodes registered so far (`NODE` first, then those of `addNode` in order): the
    ///         allowlist to give a consumer that takes deliveries only from chosen nodes. A node
    ///         added after the consumer is deployed is then a stranger to it.
    /// @return registered the nodes' addresses
    function registeredNodes() internal view returns (address[] memory registered) {
        return nodes;
    }

    /// @notice A one-node allowlist, for a consumer's constructor.
    /// @param node the node to allow
    /// @return allowed `[node]`
    function nodeList(address node) internal pure returns (address[] memory allowed) {
        allowed = new address[](1);
        allowed[0] = node;
    }

    /// @notice Funds `node` and creates its payment Wallet.
    function _registerNode(address node, string memory name) private returns (address) {
        address payable wallet = payable(WALLET_FACTORY.createWallet(node));
        vm.deal(node, NODE_FUNDS);
        vm.deal(wallet, NODE_FUNDS);
        vm.label(node, name);
        vm.label(wallet, string.concat(name, "-wallet"));
        nodeWallets[node] = wallet;
        nodes.push(node);
        return node;
    }

    /*//////////////////////////////////////////////////////////////
                                PAYMENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice A consumer payment Wallet holding `amount` of `token` (address(0) = ETH), with
    ///         `spender` (the subscription owner, i.e. your consumer) approved for all of it.
    /// @param spender the address allowed to spend (the consumer contract)
    /// @param token payment token (address(0) = ETH; an ERC-20 is credited with forge-std's `deal`)
    /// @param amount balance and allowance
    /// @return wallet the Wallet to put in the subscription's `wallet` field
    function newConsumerWallet(address spender, address token, uint256 amount)
        internal
        returns (address payable wallet)
    {
        wallet = payable(WALLET_FACTORY.createWallet(address(this)));
        _credit(wallet, token, amount);
        Wallet(wallet).approve(spender, token, amount);
    }

    /// @notice Adds `amount` of `token` to `account`.
    function _credit(address account, address token, uint256 amount) private {
        if (token == address(0)) {
            vm.deal(account, account.balance + amount);
        } else {
            deal(token, account, amount);
        }
    }

    /*//////////////////////////////////////////////////////////////
                               INTERVALS
    //////////////////////////////////////////////////////////////*/

    /// @notice The interval the Coordinator accepts deliveries for now (NOT_ACTIVE before
    ///         `activeAt`), computed from chain time as a node does.
    /// @param subscriptionId the subscription
    function currentInterval(uint32 subscriptionId) internal view returns (uint32) {
        Subscription memory sub = COORDINATOR.getSubscription(subscriptionId);
        if (block.timestamp < sub.activeAt) {
            return NOT_ACTIVE;
        }
        return COORDINATOR.getSubscriptionInterval(sub.activeAt, sub.period);
    }

    /// @notice Moves chain time (`vm.warp`) to the first second of `interval`.
    /// @param subscriptionId the subscription
    /// @param interval the interval to move to (1 = the first)
    function warpToInterval(uint32 subscriptionId, uint32 interval) internal {
        Subscription memory sub = COORDINATOR.getSubscription(subscriptionId);
        // Revert if the interval cannot exist
        if (interval == 0 || (sub.period == 0 && interval > 1)) {
            revert NoSuchInterval(subscriptionId, interval);
        }
        vm.warp(uint256(sub.activeAt) + uint256(interval - 1) * sub.period);
    }

    /// @notice Moves chain time to the start of the next interval (the first one if the
    ///         subscription is not active yet).
    /// @param subscriptionId the subscription
    /// @return interval the interval now current
    function warpToNextInterval(uint32 subscriptionId) internal returns (uint32 interval) {
        interval = currentInterval(subscriptionId) + 1;
        warpToInterval(subscriptionId, interval);
    }

    /// @notice A missed interval: moves chain time past the next interval (the first one if the
    ///         subscription is not active yet) without delivering it, as when every node was down.
    /// @param subscriptionId a recurring subscription
    /// @return missed the interval that went by undelivered
    function missInterval(uint32 subscriptionId) internal returns (uint32 missed) {
        missed = currentInterval(subscriptionId) + 1;
        warpToInterval(subscriptionId, missed + 1);
    }

    /*//////////////////////////////////////////////////////////////
                               DELIVERIES
    //////////////////////////////////////////////////////////////*/

    /// @notice `NODE` delivers `output` for the current interval, as it would after running the
    ///         container: for a callback request or a subscription's current interval.
    /// @param subscriptionId the subscription
    /// @param output delivered output (build it with HFOutput)
    /// @return interval the interval delivered
    function deliver(uint32 subscriptionId, bytes memory output)
        internal
        returns (uint32 interval)
    {
        return deliverAs(NODE, subscriptionId, output);
    }

    /// @notice `node` delivers `output` for the current interval (a second node for redundancy).
    /// @param node a node from `addNode` (or NODE)
    /// @param subscriptionId the subscription
    /// @param output delivered output
    /// @return interval the interval delivered
    function deliverAs(address node, uint32 subscriptionId, bytes memory output)
        internal
        returns (uint32 interval)
    {
        return deliverWithProof(node, subscriptionId, output, "");
    }

    /// @notice Moves to the next interval of a recurring subscription and `NODE` delivers it.
    /// @param subscriptionId the subscription
    /// @param output delivered output
    /// @return interval the interval delivered
    function deliverNextInterval(uint32 subscriptionId, bytes memory output)
        internal
        returns (uint32 interval)
    {
        warpToNextInterval(subscriptionId);
        return deliver(subscriptionId, output);
    }

    /// @notice `node` delivers `output` with `proof` for the current interval. For a paid
    ///         subscription with a verifier, the node first approves itself on its Wallet for the
    ///         payment amount, the stake the Coordinator escrows until the proof is verified (as
    ///         Ritual's node does before delivering).
    /// @param node a registered node
    /// @param subscriptionId the subscription
    /// @param output delivered output
    /// @param proof the proof handed to the subscription's verifier
    /// @return interval the interval delivered
    function deliverWithProof(
        address node,
        uint32 subscriptionId,
        bytes memory output,
        bytes memory proof
    ) internal returns (uint32 interval) {
        Subscription memory sub = COORDINATOR.getSubscription(subscriptionId);
        address payable wallet = _walletOf(node);
        interval = currentInterval(subscriptionId);
        bytes memory input = _nodeInput(sub, subscriptionId, interval, node);
        if (sub.paymentAmount > 0 && sub.verifier != address(0)) {
            _approveStake(node, wallet, sub);
        }
        vm.prank(node);
        COORDINATOR.deliverCompute(subscriptionId, interval, input, output, proof, wallet);
    }

    /// @notice `NODE` delivers a delegated subscription as a node does for `POST /api/jobs` with a
    ///         signature: signs `sub` with `signerKey` (the consumer's `getSigner()` key), then
    ///         creates and delivers it in one `deliverComputeDelegatee`.
    /// @param signerKey private key of the consumer's delegated signer
    /// @param nonce the signer's nonce for this subscription (any unused uint32)
    /// @param sub the subscription (see `delegatedSubscription`)
    /// @param output delivered output
    /// @return subscriptionId the id the Coordinator gave the subscription
    function deliverDelegated(
        uint256 signerKey,
        uint32 nonce,
        Subscription memory sub,
        bytes memory output
    ) internal returns (uint32 subscriptionId) {
        return deliverDelegatedAs(NODE, signerKey, nonce, sub, output);
    }

    /// @notice `node` delivers a delegated subscription (see `deliverDelegated`). The first
    ///         delivery creates the subscription; a later one with the same signature and nonce
    ///         reuses it, as a second node does for a subscription with redundancy above one.
    /// @param node a node from `addNode` (or NODE)
    /// @param signerKey private key of the consumer's delegated signer
    /// @param nonce the signer's nonce for this subscription
    /// @param sub the subscription
    /// @param output delivered output
    /// @return subscriptionId the id the Coordinator gave the subscription
    function deliverDelegatedAs(
        address node,
        uint256 signerKey,
        uint32 nonce,
        Subscription memory sub,
        bytes memory output
    ) internal returns (uint32 subscriptionId) {
        address payable wallet = _walletOf(node);
        uint32 expiry = uint32(block.timestamp) + SIGNATURE_LIFETIME;
        (uint8 v, bytes32 r, bytes32 s) = signDelegation(signerKey, nonce, expiry, sub);
        uint32 interval =
            sub.period == 0 ? 1 : COORDINATOR.getSubscriptionInterval(sub.activeAt, sub.period);
        vm.prank(node);
        COORDINATOR.deliverComputeDelegatee(
            nonce,
            expiry,
            sub,
            v,
            r,
            s,
            interval,
            HFOutput.deliveredInput(""), // the request's input is off-chain
            output,
            "", // proof: none
            wallet
        );
        return COORDINATOR.delegateCreatedIds(keccak256(abi.encode(sub.owner, nonce)));
    }

    /// @notice A delegated subscription for `owner`: one-shot, active now, one node, eager,
    ///         unpaid, no verifier. Change fields before signing for other shapes.
    /// @param owner the consumer (a Delegator whose `getSigner()` will sign)
    /// @param containerId the container id string (e.g. HF_CONTAINER_ID)
    function delegatedSubscription(address owner, string memory containerId)
        internal
        view
        returns (Subscription memory sub)
    {
        sub.owner = owner;
        sub.activeAt = uint32(block.timestamp);
        sub.period = 0; // one-shot
        sub.frequency = 1; // one interval
        sub.redundancy = 1; // one node
        sub.containerId = keccak256(abi.encode(containerId));
    }

    /// @notice Signs a DelegateSubscription with `vm.sign`: the EIP-712 digest (domain
    ///         "InfernetCoordinator", "1") the Coordinator and the node check.
    /// @param signerKey private key of the consumer's delegated signer
    /// @param nonce the signer's nonce for this subscription
    /// @param expiry timestamp after which the signature is refused
    /// @param sub the subscription
    function signDelegation(uint256 signerKey, uint32 nonce, uint32 expiry, Subscription memory sub)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        return vm.sign(signerKey, LibSign.digest(address(COORDINATOR), nonce, expiry, sub));
    }

    /*//////////////////////////////////////////////////////////////
                                FAILURES
    //////////////////////////////////////////////////////////////*/

    /// @notice What Ritual's node does before running the container: `eth_call` the delivery with
    ///         empty input, the 32-zero-byte placeholder output and an empty proof. The call's
    ///         state changes are undone, as with `eth_call`.
    /// @param subscriptionId the subscription
    /// @return ok whether the simulation succeeded (a consumer should let it)
    /// @return revertData the revert data if it did not
    function simulatePlaceholder(uint32 subscriptionId)
        internal
        returns (bool ok, bytes memory revertData)
    {
        uint32 interval = currentInterval(subscriptionId);
        bytes memory call = abi.encodeCall(
            COORDINATOR.deliverCompute,
            (subscriptionId, interval, "", HFOutput.placeholder(), "", NODE_WALLET)
        );
        uint256 snapshot = vm.snapshotState();
        vm.prank(NODE);
        (ok, revertData) = address(COORDINATOR).call(call);
        vm.revertToState(snapshot);
        if (ok) {
            revertData = "";
        }
    }

    /// @notice `node` tries to deliver `output` for `interval` without failing the test: a missed
    ///         interval, a full interval or a second answer from the same node comes back as the
    ///         Coordinator's revert data. A delivery that goes through is kept.
    /// @param node a registered node
    /// @param subscriptionId the subscription
    /// @param interval the interval the node computed for
    /// @param output delivered output
    /// @return ok whether the Coordinator accepted the delivery
    /// @return revertData the revert data if it did not (e.g. `IntervalMismatch()`)
    function tryDeliver(address node, uint32 subscriptionId, uint32 interval, bytes memory output)
        internal
        returns (bool ok, bytes memory revertData)
    {
        bytes memory call = abi.encodeCall(
            COORDINATOR.deliverCompute,
            (subscriptionId, interval, HFOutput.deliveredInput(""), output, "", _walletOf(node))
        );
        vm.prank(node);
        (ok, revertData) = address(COORDINATOR).call(call);
        if (ok) {
            revertData = "";
        }
    }

    /*//////////////////////////////////////////////////////////////
                           PRIVATE FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice `node`'s payment Wallet.
    function _walletOf(address node) private view returns (address payable wallet) {
        wallet = nodeWallets[node];
        // Revert if the node was never registered
        if (wallet == address(0)) {
            revert UnknownNode(node);
        }
    }

    /// @notice The `input` a node delivers: the consumer's `getContainerInputs` for this interval
    ///         (empty if that call reverts, as a node does), wrapped as the service returns it.
    function _nodeInput(
        Subscription memory sub,
        uint32 subscriptionId,
        uint32 interval,
        address node
    ) private view returns (bytes memory) {
        bytes memory data;
        try BaseConsumer(sub.owner)
            .getContainerInputs(subscriptionId, interval, uint32(block.timestamp), node) returns (
            bytes memory inputs
        ) {
            data = inputs;
        } catch {}
        return HFOutput.deliveredInput(data);
    }

    /// @notice Approves `node` on its Wallet for the stake a verified delivery escrows (the
    ///         Wallet holds NODE_FUNDS of ETH; credit it yourself for an ERC-20 stake).
    function _approveStake(address node, address payable wallet, Subscription memory sub) private {
        vm.prank(Wallet(wallet).owner());
        Wallet(wallet).approve(node, sub.paymentToken, sub.paymentAmount);
    }
}
