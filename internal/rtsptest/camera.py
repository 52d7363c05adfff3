#!/usr/bin/python3
"""A classroom IP camera for Chalkcast's tests: GStreamer's RTSP server
serving a moving test picture and a tone on 127.0.0.1.

    camera.py PORT [USER:PASSWORD]

Paths: /h264aac (H.264 + AAC), /h264bframes (H.264 with B-frames + AAC),
/h265 (H.265, no audio), /h264pcmu (H.264 + G.711 mu-law 8 kHz),
/h264pcma (H.264 + G.711 A-law 8 kHz), /audioonly (AAC, no video).
Prints "ready" once it listens.
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

Gst.init(None)
port = sys.argv[1]
cred = sys.argv[2] if len(sys.argv) > 2 else ""

video = ("videotestsrc is-live=true pattern=ball ! "
         "video/x-raw,width=640,height=360,framerate=25/1 ! ")
x264 = "x264enc speed-preset=ultrafast key-int-max=25 "
h264 = x264 + "tune=zerolatency ! rtph264pay name=pay0 pt=96 config-interval=-1 "
h264b = "x264enc speed-preset=veryfast key-int-max=25 bframes=2 b-adapt=false ! video/x-h264,profile=main ! rtph264pay name=pay0 pt=96 "


def tone(rate):
    return ("audiotestsrc is-live=true wave=sine freq=440 ! "
            "audio/x-raw,rate=%d,channels=1 ! " % rate)


aac = tone(48000) + "avenc_aac ! rtpmp4gpay name=pay1 pt=97 "
paths = {
    "/h264aac": video + h264 + aac,
    "/h264bframes": video + h264b + aac,
    "/h265": video + "x265enc speed-preset=ultrafast tune=zerolatency key-int-max=25 "
             "! rtph265pay name=pay0 pt=96 config-interval=-1 ",
    "/h264pcmu": video + h264 + tone(8000) + "mulawenc ! rtppcmupay name=pay1 pt=0 ",
    "/h264pcma": video + h264 + tone(8000) + "alawenc ! rtppcmapay name=pay1 pt=8 ",
    "/audioonly": aac.replace("pay1", "pay0"),
    "/green": video.replace("pattern=ball", "pattern=green") + h264,
}

server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(port)
if cred:
    user, password = cred.split(":", 1)
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string("media.factory.role", "viewer")
    auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
    server.set_auth(auth)
for path, launch in paths.items():
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch("( " + launch + ")")
    factory.set_shared(True)
    if cred:
        factory.add_role_from_structure(Gst.Structure.from_string(
            "viewer, media.factory.access=(boolean)true, media.factory.construct=(boolean)true")[0])
    server.get_mount_points().add_factory(path, factory)
if server.attach(None) == 0:
    sys.exit("cannot listen on port " + port)
print("ready", flush=True)
GLib.MainLoop().run()
