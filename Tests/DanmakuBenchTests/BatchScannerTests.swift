import DanmakuBench
import Testing

@Suite struct BatchScannerTests {
    let batch = ##"{"type":"comments","room":"r","comments":[{"seq":7,"color":"#ffffff","id":"a","mode":"scroll","room":"r","text":"b1000 xx","ts":1,"user":{"id":"u","name":"\"seq\":99"}},{"seq":8,"color":"#ffffff","id":"b","mode":"scroll","room":"r","text":"hello","ts":2,"user":{"id":"u","name":"n"}}]}"##

    @Test func findsFirstAndLastSeq() {
        let result = Array(batch.utf8).withUnsafeBytes { BatchScanner.firstAndLastSeq($0) }
        #expect(result?.first == 7 && result?.last == 8)
    }

    @Test func walksEveryCommentWithItsStamp() {
        var seen: [(UInt64, UInt64?)] = []
        Array(batch.utf8).withUnsafeBytes { BatchScanner.forEachComment($0) { seen.append(($0, $1)) } }
        #expect(seen.map(\.0) == [7, 8])
        #expect(seen.map(\.1) == [1000, nil])
    }

    @Test func classifiesMessages() {
        func kind(_ text: String) -> BatchScanner.Kind { Array(text.utf8).withUnsafeBytes { BatchScanner.kind($0) } }
        #expect(kind(batch) == .comments)
        #expect(kind(#"{"batchWindowMs":10,"lastSeq":41,"node":"n","room":"r","type":"hello"}"#) == .hello)
        #expect(kind(#"{"from":3,"room":"r","to":9,"type":"gap"}"#) == .gap)
        #expect(Array(#"{"lastSeq":41}"#.utf8).withUnsafeBytes { BatchScanner.integerField("lastSeq", in: $0) } == 41)
    }

    @Test func readsABudgetedBatchsShedCountFromItsHeadOnly() {
        let budgeted = ##"{"type":"comments","room":"r","shed":12,"lastSeq":20,"comments":[{"seq":9,"kind":"notice","payload":{"shed":99,"lastSeq":1},"ts":1}]}"##
        let shed = Array(budgeted.utf8).withUnsafeBytes { BatchScanner.shed($0) }
        #expect(shed?.count == 12 && shed?.lastSeq == 20)
        #expect(Array(budgeted.utf8).withUnsafeBytes { BatchScanner.commentCount($0) } == 1)
        // A plain batch sheds nothing, whatever its comments say.
        let plain = ##"{"type":"comments","room":"r","comments":[{"seq":9,"kind":"notice","payload":{"shed":99,"lastSeq":1},"ts":1}]}"##
        #expect(Array(plain.utf8).withUnsafeBytes { BatchScanner.shed($0) } == nil)
        #expect(Array(plain.utf8).withUnsafeBytes { BatchScanner.merged($0) } == nil)
        #expect(Array(batch.utf8).withUnsafeBytes { BatchScanner.commentCount($0) } == 2)
    }

    @Test func countsTheSeqsAMergedBatchCarriesInsideOtherComments() {
        let merged = ##"{"type":"comments","room":"r","merged":[[3,4,6],[5,7]],"lastSeq":7,"comments":[{"seq":3,"text":"666"},{"seq":5,"text":"[[1,2]]"}]}"##
        let counted = Array(merged.utf8).withUnsafeBytes { BatchScanner.merged($0) }
        #expect(counted?.count == 3 && counted?.lastSeq == 7, "4, 6 and 7 stand inside 3 and 5")
        #expect(Array(merged.utf8).withUnsafeBytes { BatchScanner.shed($0) } == nil)
    }

    @Test func parsesSourceAddressRanges() {
        #expect(parseSourceAddresses("127.0.0.1-127.0.0.3") == ["127.0.0.1", "127.0.0.2", "127.0.0.3"])
        #expect(parseSourceAddresses("127.0.0.1,127.0.0.9") == ["127.0.0.1", "127.0.0.9"])
        #expect(parseSourceAddresses("127.0.0.1-127.0.1.3") == nil)
    }
}
