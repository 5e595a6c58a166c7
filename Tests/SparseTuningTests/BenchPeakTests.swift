// The matmul peak probe and `bench`'s peak and CPU-time output: figures positive and finite, keys present in
// --json, bf16 absent reported instead of crashing. No timing assertions (the machine is shared).
import XCTest
import Foundation
@testable import SparseTuning

final class BenchPeakTests: XCTestCase {
    private let tiny = ["--dim", "48", "--depth", "3", "--heads", "3", "--mlp", "96", "--patch", "8", "--image-size", "32"]
    private let quick = ["--batch", "1,2", "--warmup", "0", "--min-time", "0", "--min-runs", "1"]

    func testProbeGivesPositiveFiniteFigures() throws {
        let peak = try MatmulPeak.measure(m: 197, k: 768, n: 768, warmup: 1, seconds: 0.02, minRuns: 2, rounds: 2)
        XCTAssertTrue(peak.fp32GFLOPs.isFinite && peak.fp32GFLOPs > 0, "fp32 \(peak.fp32GFLOPs)")
        XCTAssertTrue(peak.fp32MedianGFLOPs.isFinite && peak.fp32MedianGFLOPs > 0)
        XCTAssertLessThanOrEqual(peak.fp32MedianGFLOPs, peak.fp32GFLOPs, "the peak is the best run")
        XCTAssertGreaterThanOrEqual(peak.fp32Runs, 2)
        XCTAssertEqual(peak.flopsPerProduct, 2 * 197 * 768 * 768)
        XCTAssertEqual(peak.threads, Compute.threads)
        XCTAssertTrue(peak.coresUsed.isFinite && peak.coresUsed >= 0)
        if let bf16 = peak.bf16GFLOPs {
            XCTAssertTrue(bf16.isFinite && bf16 > 0, "bf16 \(bf16)")
            XCTAssertNil(peak.bf16Unsupported)
            XCTAssertEqual(peak.gflops(for: .bf16), bf16)
        } else {
            XCTAssertNotNil(peak.bf16Unsupported, "an unmeasured bf16 peak says why")
            XCTAssertTrue(peak.summary.contains("bf16: not supported"), peak.summary)
        }
        XCTAssertEqual(peak.gflops(for: .fp32), peak.fp32GFLOPs)

        // JSON keeps every key (bf16 ones null when unsupported) and reads back.
        let data = try JSONCoding.encode(peak)
        let json = try JSONCoding.decode(JSONTree.self, from: data, source: "peak")
        for key in ["fp32_gflop_per_s", "bf16_gflop_per_s", "bf16_unsupported", "threads", "m", "k", "n", "isa",
                    "statistic", "flop_convention", "cores_used"] {
            XCTAssertTrue(json.keys.contains(key), "peak JSON lacks \(key): \(json.keys.sorted())")
        }
        let back = try JSONCoding.decode(MatmulPeak.self, from: data, source: "peak")
        XCTAssertEqual(back.fp32GFLOPs, peak.fp32GFLOPs)
        XCTAssertEqual(back.bf16GFLOPs, peak.bf16GFLOPs)
    }

    func testBenchmarkRecordsCPUTime() throws {
        var r = try Benchmark.run(batch: 1, sample: [3, 8, 8], gflopsPerImage: 1, warmup: 0, minIterations: 2, minSeconds: 0) { x in
            var s: Float = 0
            for _ in 0..<20 { for i in 0..<x.count { s += x.data[i] } }
            XCTAssertTrue(s.isFinite)
        }
        XCTAssertGreaterThan(r.wallSeconds, 0)
        XCTAssertGreaterThanOrEqual(r.userSeconds, 0)
        XCTAssertGreaterThanOrEqual(r.systemSeconds, 0)
        XCTAssertTrue(r.systemPercentOfWall.isFinite)
        XCTAssertNil(r.percentOfPeak)
        r.peakGflopPerSecond = 4 * r.achievedGflopPerSecond
        XCTAssertEqual(try XCTUnwrap(r.percentOfPeak), 25, accuracy: 1e-9)
    }

    func testBenchJSONHasPeakAndCPUKeys() throws {
        let (code, out, err) = try runSparseTune(["bench"] + tiny + quick + ["--json"])
        XCTAssertEqual(code, 0, err)
        let json = try jsonTree(out)
        for key in ["arch", "image_size", "threads", "mode", "method", "gflops_convention", "results",  // as before
                    "precision", "peak", "peak_reference", "rate_convention", "cpu_time_convention"] {
            XCTAssertNotNil(json[key], "bench JSON lacks \(key)")
        }
        let peak = try XCTUnwrap(json["peak"])
        let fp32 = try XCTUnwrap(peak["fp32_gflop_per_s"]?.double)
        XCTAssertTrue(fp32.isFinite && fp32 > 0)
        XCTAssertTrue(peak.keys.contains("bf16_gflop_per_s"))
        let results = try XCTUnwrap(json["results"]?.array)
        XCTAssertEqual(results.count, 2)
        for r in results {
            for key in ["batch", "iterations", "images_per_s", "ms_per_batch", "gflops", "achieved_gflop_per_s",
                        "peak_rss_mb", "user_s", "sys_s", "wall_s", "sys_pct_of_wall"] {
                XCTAssertNotNil(r[key]?.double, "result lacks number \(key): \(r)")
            }
            XCTAssertEqual(r["peak_gflop_per_s"]?.double, fp32, "fp32 model: the fp32 peak")
            let pct = try XCTUnwrap(r["pct_of_peak"]?.double)
            XCTAssertEqual(pct, 100 * r["achieved_gflop_per_s"]!.double! / fp32, accuracy: 1e-9)
        }

        // --no-peak: no probe, the peak keys null; the table says so.
        let (code2, out2, err2) = try runSparseTune(["bench"] + tiny + quick + ["--json", "--no-peak", "--train"])
        XCTAssertEqual(code2, 0, err2)
        let json2 = try jsonTree(out2)
        XCTAssertEqual(json2["peak"], .null)
        XCTAssertEqual(json2["mode"]?.string, "train")
        let r2 = try XCTUnwrap(json2["results"]?[0])
        XCTAssertEqual(r2["pct_of_peak"], .null)
        XCTAssertNotNil(r2["user_s"]?.double)
    }

    func testBenchTablePrintsPeakFirst() throws {
        let (code, out, err) = try runSparseTune(["bench"] + tiny + quick + ["--threads", "1"])
        XCTAssertEqual(code, 0, err)
        let lines = out.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.first?.hasPrefix("matmul peak (1 thread,") == true, out)
        XCTAssertTrue(lines.first?.contains("fp32 ") == true && lines.first?.contains("2·M·N·K") == true, out)
        XCTAssertTrue(out.contains("% of peak") && out.contains("CPU s user / sys") && out.contains("sys % of wall"), out)
    }

    /// oneDNN limited to AVX2 has no bf16 matmul: the probe says so and `--precision bf16` is a clean error.
    func testBF16UnsupportedIsReportedNotFatal() throws {
        let env = ["ONEDNN_MAX_CPU_ISA": "AVX2"]
        let (code, out, err) = try runSparseTune(["bench"] + tiny + quick, environment: env)
        XCTAssertEqual(code, 0, err)
        XCTAssertTrue(out.contains("bf16: not supported"), out)
        let (code2, out2, err2) = try runSparseTune(["bench"] + tiny + quick + ["--json"], environment: env)
        XCTAssertEqual(code2, 0, err2)
        let json = try jsonTree(out2)
        let peak = try XCTUnwrap(json["peak"])
        XCTAssertEqual(peak["bf16_gflop_per_s"], .null)
        XCTAssertNotNil(peak["bf16_unsupported"]?.string)
        XCTAssertGreaterThan(peak["fp32_gflop_per_s"]?.double ?? 0, 0)
        let (code3, _, err3) = try runSparseTune(["bench"] + tiny + quick + ["--precision", "bf16"], environment: env)
        XCTAssertEqual(code3, 1)
        XCTAssertTrue(err3.hasPrefix("error: --precision bf16: bf16 precision needs a CPU with AVX512-BF16"), err3)

    }
}
