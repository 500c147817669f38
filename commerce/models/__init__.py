"""The shop's tables, one module per domain. Every tenant-owned row carries ``store_id``."""
from commerce.models.carts import Cart, CartLine  # noqa: F401
from commerce.models.catalog import (  # noqa: F401
    Category, Collection, CollectionProduct, Product, ProductImage, Variant,
)
from commerce.models.customers import Address, Customer  # noqa: F401
from commerce.models.events import OutboxEvent  # noqa: F401
from commerce.models.inventory import Location, Reservation, Stock, StockMovement  # noqa: F401
from commerce.models.payments import PaymentCallback, PaymentGateway  # noqa: F401
from commerce.models.orders import (  # noqa: F401
    Fulfilment, FulfilmentLine, Order, OrderLine, OrderStatusChange, Payment, Refund, RefundLine,
)
from commerce.models.promotions import DiscountCode, DiscountRedemption  # noqa: F401
from commerce.models.shipping import PickupPoint, ShippingRate, ShippingZone  # noqa: F401
from commerce.models.stores import ChannelAddress, ExchangeRate, Store  # noqa: F401
