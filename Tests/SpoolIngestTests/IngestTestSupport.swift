@_spi(MockCluster) import KafkaReplay
@_spi(MockCluster) import SpoolScenarioSupport
import SpoolTestSupport
import Logging
import SpoolStore
import Testing
#if canImport(Glibc)
import Glibc
#endif

