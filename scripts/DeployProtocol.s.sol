// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {Script} from "forge-std/Script.sol";
import {console} from "forge-std/console.sol";
import {WalletFactory} from "infernet-sdk/payments/WalletFactory.sol";
import {LibDeploy} from "../contracts/testkit/LibDeploy.sol";

/// @title DeployProtocol
/// @notice Deploys the Infernet protocol and the node's payment Wallet, as infernet-anvil does:
///         run by anvil #2 at nonce 0 on a fresh anvil, every address equals infernet-anvil's
///         (Registry 0x663F3ad617193148711d28f5334eE4Ed07016602, EIP712Coordinator
///         0x2E983A1Ba5e8b38AAAeC4B440B9dDcFBf72E15d1, node Wallet
///         0x60985ee8192B322c3CAbA97A9A9f7298bdc4335C), so existing node configs work unchanged.
/// @dev Usage: `forge script scripts/DeployProtocol.s.sol:DeployProtocol --rpc-url $RPC_URL --broadcast`.
///      Environment (all optional):
///        PRIVATE_KEY        deployer key (default: anvil account #2's well-known test key)
///        PROTOCOL_FEE       protocol fee in basis points, 0..10000 (default 0, as infernet-anvil)
///        FEE_RECIPIENT      Fee owner and recipient (default: the deployer)
///        NODE_WALLET_OWNER  owner of the node payment Wallet (default: anvil account #1)
///        EXTRA_NODE_KEYS    comma-separated keys of further nodes, each creating its own payment
///                           Wallet after the protocol (default on anvil's chain id 31337: anvil
///                           #6 and #7, the compose network's second and third devnodes, whose
///                           Wallets land at 0x7749f632...1efeF6 and 0xf8F05DA9...289712; none
///                           elsewhere). Sent from those keys, so the deployer's nonces, and
///                           every address DeployConsumers.s.sol gives, stay the same.
contract DeployProtocol is Script {
    /*//////////////////////////////////////////////////////////////
                               CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice anvil account #2's publicly known test key (mnemonic "test test ... junk"), the
    ///         infernet-anvil deployer.
    uint256 public constant ANVIL_2_PRIVATE_KEY =
        0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a;

    /// @notice anvil account #1, the node key in Ritual's example configs.
    address public constant ANVIL_1 = 0x70997970C51812dc3A010C7d01b50e0d17dc79C8;

    /// @notice anvil accounts #6 and #7's publicly known test keys: the further nodes of a
    ///         several-node network (docs/stack.md); #4 and #5 play other roles in e2e/.
    uint256 public constant ANVIL_6_PRIVATE_KEY =
        0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e;
    uint256 public constant ANVIL_7_PRIVATE_KEY =
        0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356;

    /// @notice anvil's default chain id, where the well-known keys above hold funds.
    uint256 public constant ANVIL_CHAIN_ID = 31_337;

    /// @notice 100.00% in basis points, the largest meaningful protocol fee.
    uint256 public constant MAX_FEE = 10_000;

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice Thrown if PROTOCOL_FEE is above 10_000 basis points.
    error FeeTooHigh(uint256 fee);

    /*//////////////////////////////////////////////////////////////
                                FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Entry point for `forge script`: reads the environment, then deploys.
    function run() external returns (LibDeploy.Protocol memory protocol, address nodeWallet) {
        uint256 deployerKey = vm.envOr("PRIVATE_KEY", ANVIL_2_PRIVATE_KEY);
        uint256 fee = vm.envOr("PROTOCOL_FEE", uint256(0));
        address feeRecipient = vm.envOr("FEE_RECIPIENT", vm.addr(deployerKey));
        address nodeWalletOwner = vm.envOr("NODE_WALLET_OWNER", ANVIL_1);
        (protocol, nodeWallet) = deploy(deployerKey, feeRecipient, fee, nodeWalletOwner);
        createNodeWallets(
            protocol.walletFactory, vm.envOr("EXTRA_NODE_KEYS", ",", _extraNodeKeys())
        );
    }

    /// @notice Each key creates a payment Wallet it owns, in order (the factory's next CREATEs).
    function createNodeWallets(WalletFactory factory, uint256[] memory nodeKeys)
        public
        returns (address[] memory wallets)
    {
        wallets = new address[](nodeKeys.length);
        for (uint256 i = 0; i < nodeKeys.length; i++) {
            address owner = vm.addr(nodeKeys[i]);
            vm.broadcast(nodeKeys[i]);
            wallets[i] = factory.createWallet(owner);
            console.log("Node Wallet:      ", wallets[i], "owner", owner);
        }
    }

    /// @notice EXTRA_NODE_KEYS' default: anvil #6 and #7 on anvil's chain id, none elsewhere.
    function _extraNodeKeys() internal view returns (uint256[] memory keys) {
        if (block.chainid != ANVIL_CHAIN_ID) {
            return new uint256[](0);
        }
        keys = new uint256[](2);
        keys[0] = ANVIL_6_PRIVATE_KEY;
        keys[1] = ANVIL_7_PRIVATE_KEY;
    }

    /// @notice Deploys the protocol from `deployerKey`'s current nonce, then creates a Wallet for
    ///         `nodeWalletOwner` (the WalletFactory's first CREATE).
    function deploy(uint256 deployerKey, address feeRecipient, uint256 fee, address nodeWalletOwner)
        public
        returns (LibDeploy.Protocol memory protocol, address nodeWallet)
    {
        // Revert if the fee is above 100%
        if (fee > MAX_FEE) {
            revert FeeTooHigh(fee);
        }
        address deployer = vm.addr(deployerKey);

        // casting to 'uint16' is safe because fee <= MAX_FEE was checked above
        // forge-lint: disable-next-line(unsafe-typecast)
        uint16 feeBasisPoints = uint16(fee);

        vm.startBroadcast(deployerKey);
        protocol = LibDeploy.deployContracts(
            deployer, vm.getNonce(deployer), feeRecipient, feeBasisPoints
        );
        nodeWallet = protocol.walletFactory.createWallet(nodeWalletOwner);
        vm.stopBroadcast();

        console.log("Registry:         ", address(protocol.registry));
        console.log("EIP712Coordinator:", address(protocol.coordinator));
        console.log("Inbox:            ", address(protocol.inbox));
        console.log("Reader:           ", address(protocol.reader));
        console.log("Fee:              ", address(protocol.fee));
        console.log("WalletFactory:    ", address(protocol.walletFactory));
        console.log("Node Wallet:      ", nodeWallet);
    }
}
