// swift-tools-version:6.0
// SparseTuning: Sparse-Tuning (token sparsification + Dense Adapters) for Vision Transformers on the CPU.
// Builds on Linux (x86-64; Debian/Ubuntu packages libdnnl-dev with its OpenMP runtime libgomp, libjpeg-turbo,
// libpng, libcairo2-dev with fonts-dejavu-core for the figures, libopenmpi-dev for data-parallel training, FFmpeg's
// libavformat/libavcodec/libswscale/libavutil for video files):
// oneDNN's OpenMP threads and glibc are part of the design, so no Apple platform is declared.
import PackageDescription

let package = Package(
    name: "SparseTuning",
    products: [
        .library(name: "SparseTuning", targets: ["SparseTuning"]),
        .library(name: "SparseTuningServer", targets: ["SparseTuningServer"]),
        .executable(name: "sparse-tune", targets: ["sparse-tune"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        // The HTTP server (sparse-tune serve) and its observability.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
    ],
    targets: [
        // System libraries (Debian: libdnnl-dev, libjpeg62-turbo-dev, libpng-dev, libcairo2-dev, libopenmpi-dev,
        // libavformat-dev libavcodec-dev libswscale-dev libavutil-dev).
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL"),
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG"),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng"),
        .systemLibrary(name: "CCairo", path: "Sources/CCairo", pkgConfig: "cairo", providers: [.apt(["libcairo2-dev"])]),
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "mpi-c", providers: [.apt(["libopenmpi-dev"])]),
        // FFmpeg for video files: one pkg-config name (SwiftPM takes one); the modulemap links all four libraries.
        .systemLibrary(
            name: "CFFmpeg", path: "Sources/CFFmpeg", pkgConfig: "libavformat",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev", "libavutil-dev"])]
        ),
        // C kernels the Swift compiler does not vectorise for baseline x86-64 (bf16 conversion).
        .target(name: "CKernels", path: "Sources/CKernels"),
        .target(
            name: "SparseTuning",
            dependencies: [
                "CDNNL", "CJPEG", "CPNG", "CCairo", "CFFmpeg", "CKernels",
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ]
        ),
        // Data-parallel training over Open MPI (docs/DISTRIBUTED.md); the core library links no MPI.
        .target(name: "SparseTuningMPI", dependencies: ["SparseTuning", "CMPI"]),
        // The HTTP layer of `sparse-tune serve` (Open Inference Protocol), kept apart so the core library has no NIO.
        .target(
            name: "SparseTuningServer",
            dependencies: [
                "SparseTuning",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ]
        ),
        .executableTarget(
            name: "sparse-tune",
            dependencies: [
                "SparseTuning",
                "SparseTuningMPI",
                "SparseTuningServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "SparseTuningTests",
            dependencies: ["SparseTuning", "SparseTuningServer", "sparse-tune", .product(name: "Logging", package: "swift-log")],
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
