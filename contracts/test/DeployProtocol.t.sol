// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.22;

import {Test} from "forge-std/Test.sol";
import {Wallet} from "infernet-sdk/payments/Wallet.sol";
import {DeployConsumers} from "../../scripts/DeployConsumers.s.sol";
import {DeployProtocol} from "../../scripts/DeployProtocol.s.sol";
import {LibDeploy} from "../testkit/LibDeploy.sol";
import {LibSign} from "../testkit/LibSign.sol";

/// @title DeployProtocolTest
/// @notice Runs the deploy scripts as anvil #2 from nonce 0 (a fresh chain) and checks that every
///         address equals infernet-anvil's, so existing Infernet node configs work unchanged.
contract DeployProtocolTest is Test {
    address internal constant ANVIL_1 = 0x70997970C51812dc3A010C7d01b50e0d17dc79C8;
    address internal constant ANVIL_2 = 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC;
    address internal constant ANVIL_3 = 0x90F79bf6EB2c4f870365E785982E1f101E93b906;
    address internal constant ANVIL_6 = 0x976EA74026E726554dB657fA54763abd0C3a0aa9;
    address internal constant ANVIL_7 = 0x14dC79964da2C08b23698B3D3cc7Ca32193d9955;

    /// @notice anvil's default chain id; with infernet-anvil's Coordinator address it fixes the domain separator.
    uint256 internal constant ANVIL_CHAIN_ID = 31_337;

    DeployProtocol internal SCRIPT;

    function setUp() public {
        vm.chainId(ANVIL_CHAIN_ID);
        SCRIPT = DeployProtocol(deployCode("DeployProtocol.s.sol:DeployProtocol"));
    }

    function _deploy(uint256 fee)
        internal
        returns (LibDeploy.Protocol memory protocol, address nodeWallet)
    {
        assertEq(vm.getNonce(ANVIL_2), 0);
        return SCRIPT.deploy(SCRIPT.ANVIL_2_PRIVATE_KEY(), ANVIL_2, fee, ANVIL_1);
    }

    /// @notice Every contract lands at its infernet-anvil address and the Registry points at them.
    function test_deploy_landsAtInfernetAnvilAddresses() public {
        (LibDeploy.Protocol memory protocol, address nodeWallet) = _deploy(0);

        assertEq(address(protocol.registry), 0x663F3ad617193148711d28f5334eE4Ed07016602);
        assertEq(address(protocol.coordinator), 0x2E983A1Ba5e8b38AAAeC4B440B9dDcFBf72E15d1);
        assertEq(address(protocol.inbox), 0x8438Ad1C834623CfF278AB6829a248E37C2D7E3f);
        assertEq(address(protocol.reader), 0xBC9129Dc0487fc2E169941C75aABC539f208fb01);
        assertEq(address(protocol.fee), 0x6e989C01a3e3A94C973A62280a72EC335598490e);
        assertEq(address(protocol.walletFactory), 0xF6168876932289D073567f347121A267095f3DD6);
        assertEq(nodeWallet, 0x60985ee8192B322c3CAbA97A9A9f7298bdc4335C);

        assertEq(protocol.registry.COORDINATOR(), 0x2E983A1Ba5e8b38AAAeC4B440B9dDcFBf72E15d1);
        assertEq(protocol.registry.INBOX(), address(protocol.inbox));
        assertEq(protocol.registry.READER(), address(protocol.reader));
        assertEq(protocol.registry.FEE(), address(protocol.fee));
        assertEq(protocol.registry.WALLET_FACTORY(), address(protocol.walletFactory));
        assertEq(Wallet(payable(nodeWallet)).owner(), ANVIL_1);
        assertTrue(protocol.walletFactory.isValidWallet(nodeWallet));
        assertEq(protocol.fee.FEE(), 0);
        assertEq(protocol.fee.FEE_RECIPIENT(), ANVIL_2);
        assertEq(vm.getNonce(ANVIL_2), 7);
    }

    /// @notice Further nodes' payment Wallets (anvil #6 and #7, each sending its own
    ///         createWallet) land at fixed addresses and leave the deployer's nonce, hence every
    ///         consumer address, unchanged.
    function test_createNodeWallets_landAtFixedAddressesOwnedByEachNode() public {
        (LibDeploy.Protocol memory protocol,) = _deploy(0);
        uint256[] memory keys = new uint256[](2);
        keys[0] = SCRIPT.ANVIL_6_PRIVATE_KEY();
        keys[1] = SCRIPT.ANVIL_7_PRIVATE_KEY();

        address[] memory wallets = SCRIPT.createNodeWallets(protocol.walletFactory, keys);

        assertEq(wallets[0], 0x7749f632935738EA2Dd32EBEcbb8B9145E1efeF6);
        assertEq(wallets[1], 0xf8F05DA938450EfF02289087C4Bf53f198289712);
        assertEq(Wallet(payable(wallets[0])).owner(), ANVIL_6);
        assertEq(Wallet(payable(wallets[1])).owner(), ANVIL_7);
        assertTrue(protocol.walletFactory.isValidWallet(wallets[0]));
        assertTrue(protocol.walletFactory.isValidWallet(wallets[1]));
        assertEq(vm.getNonce(ANVIL_2), 7);
    }

    /// @notice The EIP-712 domain separator equals the spec's value for infernet-anvil.
    function test_deploy_domainSeparatorMatchesInfernetAnvil() public {
        (LibDeploy.Protocol memory protocol,) = _deploy(0);
        assertEq(
            LibSign.domainSeparator(address(protocol.coordinator)),
            0x10c951d595d1a987d17c9170c1eae194ce8a52d760f2ef8c7f4120f9c4fe0554
        );
    }

    /// @notice The protocol fee is configurable and capped at 100%.
    function test_deploy_feeIsConfigurable() public {
        uint256 key = SCRIPT.ANVIL_2_PRIVATE_KEY();
        vm.expectRevert(abi.encodeWithSelector(DeployProtocol.FeeTooHigh.selector, 10_001));
        SCRIPT.deploy(key, ANVIL_2, 10_001, ANVIL_1);

        (LibDeploy.Protocol memory protocol,) = _deploy(500);
        assertEq(protocol.fee.FEE(), 500);
        assertEq(address(protocol.registry), 0x663F3ad617193148711d28f5334eE4Ed07016602);
    }

    /// @notice After the protocol, HFCallbackConsumer lands where Ritual's starter scripts call.
    function test_deployConsumers_callbackLandsAtStarterAddress() public {
        (LibDeploy.Protocol memory protocol,) = _deploy(0);
        DeployConsumers consumers =
            DeployConsumers(deployCode("DeployConsumers.s.sol:DeployConsumers"));
        uint256 key = SCRIPT.ANVIL_2_PRIVATE_KEY();
        DeployConsumers.Consumers memory deployed = consumers.deploy(
            key, address(protocol.registry), ANVIL_3, "hf_inference_client_service", _localNode()
        );
        assertEq(address(deployed.callback), 0x13D69Cf7d6CE4218F646B759Dcf334D82c023d8e);
        assertEq(deployed.callback.getSigner(), ANVIL_3);
        assertEq(deployed.callback.owner(), ANVIL_2);
        assertEq(deployed.subscription.serviceContainerId(), "hf_inference_client_service");
        assertTrue(deployed.callback.isAllowedNode(ANVIL_1));
        assertTrue(deployed.subscription.isAllowedNode(ANVIL_1));
        assertTrue(deployed.delegated.isAllowedNode(ANVIL_1));
        assertTrue(deployed.example.isAllowedNode(ANVIL_1));
        assertFalse(deployed.callback.isAllowedNode(ANVIL_3));

        vm.expectRevert(
            abi.encodeWithSelector(DeployConsumers.RegistryNotDeployed.selector, address(0xBEEF))
        );
        consumers.deploy(key, address(0xBEEF), ANVIL_3, "x", _localNode());

        vm.expectRevert(DeployConsumers.NoNodes.selector);
        consumers.deploy(key, address(protocol.registry), ANVIL_3, "x", new address[](0));
    }

    /// @notice The local stack's node as a one-element list.
    function _localNode() internal pure returns (address[] memory nodes) {
        nodes = new address[](1);
        nodes[0] = ANVIL_1;
    }
}
