// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {Vm} from "forge-std/Vm.sol";
import {LibRLP} from "solady/utils/LibRLP.sol";
import {EIP712Coordinator} from "infernet-sdk/EIP712Coordinator.sol";
import {Inbox} from "infernet-sdk/Inbox.sol";
import {Registry} from "infernet-sdk/Registry.sol";
import {Fee} from "infernet-sdk/payments/Fee.sol";
import {WalletFactory} from "infernet-sdk/payments/WalletFactory.sol";
import {Reader} from "infernet-sdk/utility/Reader.sol";

/// @title LibDeploy
/// @notice Deploys the protocol in upstream's fixed order, so a given (deployer, nonce) always
///         yields the same addresses: run by anvil #2 at nonce 0 it reproduces infernet-anvil's.
/// @dev Every contract reads its peers from the Registry in its constructor, so the Registry is
///      deployed first with the precomputed CREATE addresses of the five that follow. Used by
///      scripts/DeployProtocol.s.sol, the tests' setUp and InfernetTest. Contracts are created from
///      their compiled artifacts (`vm.getCode` plus a plain CREATE in the caller, so a broadcast or
///      a prank applies to it) rather than with `new`: under via_ir every `new` re-optimises the
///      created contract inside its creator, which made each test contract recompile the whole
///      protocol with solcjs.
library LibDeploy {
    /// @notice forge's cheatcode address.
    Vm private constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /*//////////////////////////////////////////////////////////////
                             PUBLIC STRUCTS
    //////////////////////////////////////////////////////////////*/

    /// @notice The deployed protocol contracts.
    struct Protocol {
        /// @notice Registry (deployer nonce + 0)
        Registry registry;
        /// @notice EIP712Coordinator (nonce + 1)
        EIP712Coordinator coordinator;
        /// @notice Inbox (nonce + 2)
        Inbox inbox;
        /// @notice Reader (nonce + 3)
        Reader reader;
        /// @notice Fee (nonce + 4)
        Fee fee;
        /// @notice WalletFactory (nonce + 5)
        WalletFactory walletFactory;
    }

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice Thrown if a contract did not land at its precomputed address (wrong nonce given).
    error AddressMismatch(string contractName, address expected, address actual);

    /// @notice Thrown if a constructor reverted.
    error DeploymentFailed(string artifact);

    /*//////////////////////////////////////////////////////////////
                           INTERNAL FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Deploys Registry, EIP712Coordinator, Inbox, Reader, Fee and WalletFactory.
    /// @param deployer address whose CREATEs deploy the contracts (broadcaster or test contract)
    /// @param initialNonce `deployer`'s current nonce
    /// @param feeRecipient Fee owner and recipient
    /// @param fee protocol fee in basis points
    function deployContracts(
        address deployer,
        uint256 initialNonce,
        address feeRecipient,
        uint16 fee
    ) internal returns (Protocol memory protocol) {
        address coordinatorAddress = LibRLP.computeAddress(deployer, initialNonce + 1);
        address inboxAddress = LibRLP.computeAddress(deployer, initialNonce + 2);
        address readerAddress = LibRLP.computeAddress(deployer, initialNonce + 3);
        address feeAddress = LibRLP.computeAddress(deployer, initialNonce + 4);
        address walletFactoryAddress = LibRLP.computeAddress(deployer, initialNonce + 5);

        protocol.registry = Registry(
            _create(
                "Registry.sol:Registry",
                abi.encode(
                    coordinatorAddress,
                    inboxAddress,
                    readerAddress,
                    feeAddress,
                    walletFactoryAddress
                )
            )
        );
        bytes memory registryArg = abi.encode(protocol.registry);
        protocol.coordinator =
            EIP712Coordinator(_create("EIP712Coordinator.sol:EIP712Coordinator", registryArg));
        protocol.inbox = Inbox(_create("Inbox.sol:Inbox", registryArg));
        protocol.reader = Reader(_create("Reader.sol:Reader", registryArg));
        protocol.fee = Fee(_create("Fee.sol:Fee", abi.encode(feeRecipient, fee)));
        protocol.walletFactory =
            WalletFactory(_create("WalletFactory.sol:WalletFactory", registryArg));

        _expectAt("EIP712Coordinator", coordinatorAddress, address(protocol.coordinator));
        _expectAt("Inbox", inboxAddress, address(protocol.inbox));
        _expectAt("Reader", readerAddress, address(protocol.reader));
        _expectAt("Fee", feeAddress, address(protocol.fee));
        _expectAt("WalletFactory", walletFactoryAddress, address(protocol.walletFactory));
    }

    /// @notice CREATEs the artifact `what` ("File.sol:Contract") with constructor `args`.
    function _create(string memory what, bytes memory args) private returns (address created) {
        bytes memory code = bytes.concat(VM.getCode(what), args);
        // A plain CREATE from the calling contract, so a prank (the test kit deploys as
        // infernet-anvil's deployer) or a broadcast applies to it exactly as to `new`
        assembly ("memory-safe") {
            created := create(0, add(code, 0x20), mload(code))
        }
        // Revert if the constructor reverted
        if (created == address(0)) {
            revert DeploymentFailed(what);
        }
    }

    /// @notice Reverts unless `actual == expected`.
    function _expectAt(string memory contractName, address expected, address actual) private pure {
        // Revert if the Registry would point at the wrong address
        if (actual != expected) {
            revert AddressMismatch(contractName, expected, actual);
        }
    }
}
