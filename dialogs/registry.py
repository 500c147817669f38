"""Every dialog a shopper can reach. A new dialog: one module, one line here."""
from dialogs.browse import BrowseDialog
from dialogs.cart import CartDialog
from dialogs.checkout import CheckoutDialog
from dialogs.conversation import ConversationRunner
from dialogs.help import HelpDialog
from dialogs.home import HomeDialog
from dialogs.language import LanguageDialog
from dialogs.orders import OrdersDialog
from dialogs.pay import PayDialog
from dialogs.search import SearchDialog

conversation = ConversationRunner([
    HomeDialog(),
    BrowseDialog(),
    SearchDialog(),
    CartDialog(),
    CheckoutDialog(),
    OrdersDialog(),
    PayDialog(),
    LanguageDialog(),
    HelpDialog(),
])
