// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {Test} from "forge-std/Test.sol";
import {EIP712Coordinator} from "infernet-sdk/EIP712Coordinator.sol";
import {Inbox} from "infernet-sdk/Inbox.sol";
import {Registry} from "infernet-sdk/Registry.sol";
import {Fee} from "infernet-sdk/payments/Fee.sol";
import {WalletFactory} from "infernet-sdk/payments/WalletFactory.sol";
import {Reader} from "infernet-sdk/utility/Reader.sol";
import {MockSubscriptionConsumer} from "../mocks/consumer/MockSubscriptionConsumer.sol";
import {LibDeploy} from "../../testkit/LibDeploy.sol";

/// @title ProtocolConstants
/// @notice Values shared by the protocol and consumer tests.
abstract contract ProtocolConstants {
    /// @notice Container id string of the mock subscriptions.
    string internal constant MOCK_CONTAINER_ID = "container";

    /// @notice How the Coordinator stores MOCK_CONTAINER_ID.
    bytes32 internal immutable HASHED_MOCK_CONTAINER_ID = keccak256(abi.encode(MOCK_CONTAINER_ID));

    /// @notice Delivered input, output and proof.
    bytes internal constant MOCK_INPUT = "input";
    bytes internal constant MOCK_OUTPUT = "output";
    bytes internal constant MOCK_PROOF = "proof";

    /// @notice Positional stand-ins for "none".
    address internal constant NO_WALLET = address(0);
    address internal constant NO_VERIFIER = address(0);
    address internal constant NO_PAYMENT_TOKEN = address(0);
    address internal constant ETH = address(0);
    uint256 internal constant NO_PAYMENT = 0;
    address internal constant NO_SIGNER = address(0);

    /// @notice Subscription shapes.
    uint32 internal constant ONE_SHOT_PERIOD = 0;
    uint32 internal constant ONE_TIME = 1;
    uint16 internal constant ONE_NODE = 1;
    bool internal constant EAGER = false;
    bool internal constant LAZY = true;
}

/// @title ProtocolTest
/// @notice Deploys the protocol through LibDeploy (protocol fee from `_protocolFee`) and names the
///         actors: nodes ALICE, BOB, CHARLIE and fee recipient PROTOCOL.
abstract contract ProtocolTest is Test, ProtocolConstants {
    Registry internal REGISTRY;
    EIP712Coordinator internal COORDINATOR;
    Inbox internal INBOX;
    Reader internal READER;
    Fee internal FEE;
    WalletFactory internal WALLET_FACTORY;

    address internal immutable ALICE = makeAddr("alice");
    address internal immutable BOB = makeAddr("bob");
    address internal immutable CHARLIE = makeAddr("charlie");
    address internal immutable PROTOCOL = makeAddr("protocol");

    /// @notice Protocol fee in basis points for this suite.
    function _protocolFee() internal pure virtual returns (uint16) {
        return 0;
    }

    function setUp() public virtual {
        LibDeploy.Protocol memory protocol = LibDeploy.deployContracts(
            address(this), vm.getNonce(address(this)), PROTOCOL, _protocolFee()
        );
        REGISTRY = protocol.registry;
        COORDINATOR = protocol.coordinator;
        INBOX = protocol.inbox;
        READER = protocol.reader;
        FEE = protocol.fee;
        WALLET_FACTORY = protocol.walletFactory;
    }

    /// @notice Deploys a MockSubscriptionConsumer on this protocol whose Delegator signer is `signer`.
    /// @dev Deployed from its artifact (not `new`) so test contracts do not embed its bytecode.
    function _deployMockSubscriptionConsumer(address signer)
        internal
        returns (MockSubscriptionConsumer)
    {
        return MockSubscriptionConsumer(
            deployCode(
                "MockSubscriptionConsumer.sol:MockSubscriptionConsumer",
                abi.encode(address(REGISTRY), signer)
            )
        );
    }

    /// @notice Delivers the mock input/output/proof as `node`.
    function _deliver(address node, uint32 subscriptionId, uint32 interval, address nodeWallet)
        internal
    {
        vm.prank(node);
        COORDINATOR.deliverCompute(
            subscriptionId, interval, MOCK_INPUT, MOCK_OUTPUT, MOCK_PROOF, payable(nodeWallet)
        );
    }

    /// @notice Delivers `output` as `node` for an unpaid subscription.
    function _deliverOutput(
        address node,
        uint32 subscriptionId,
        uint32 interval,
        bytes memory output
    ) internal {
        vm.prank(node);
        COORDINATOR.deliverCompute(
            subscriptionId, interval, MOCK_INPUT, output, MOCK_PROOF, payable(NO_WALLET)
        );
    }
}
